"""The package's exceptions: one tree, so callers can catch ``ArdmzipError`` and show its message."""


class ArdmzipError(Exception):
    """Base class; the message is meant for users (one line, no traceback needed)."""


class UnsupportedImageError(ArdmzipError):
    """The input is not an image ardmzip can code (unreadable, unsupported mode or depth)."""


class FormatError(ArdmzipError):
    """The data is not an .ardm file, or one written by an incompatible format version."""


class CorruptFileError(FormatError):
    """The file is truncated or damaged (a checksum does not match)."""


class ModelError(ArdmzipError):
    """The model a file needs is unknown, or its weights are missing or differ from the registry."""


class LimitError(ArdmzipError):
    """The image is larger than the configured limit (a guard against decompression bombs)."""
