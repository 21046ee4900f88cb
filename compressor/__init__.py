"""ardmzip: lossless image compression with learned discrete generative models and rANS.

    import ardmzip
    data = ardmzip.compress("photo.png")          # bytes of a .ardm file
    image = ardmzip.decompress(data)              # PIL.Image, pixel-exact
    ardmzip.inspect(data)                         # the file's header
    ardmzip.compress_measured("photo.png")        # the bytes and the model's ideal bits, from one pass
    ardmzip.compress_archive([("a.png", "a.png"), ("b.png", image)])   # many images, one file (bits-back)
    ardmzip.compress_many(["a.png", "b.png"])    # many files' bytes, same-size images in batches
    ardmzip.model_info("ardm-up4-c10")            # a model's kind, classes, default budget, weights hash

Public modules beside the package: ``ardmzip.datasets`` (the benchmark image sets) and
``ardmzip.processes`` (worker processes that never outlive an error or Ctrl-C).
"""

from importlib.metadata import PackageNotFoundError, version

from .api import (MAX_SEARCH, Measured, ModelInfo, compress, compress_file, compress_measured, decompress,
                  decompress_file, inspect, model_bits, model_info, open_image)
from .archive import compress_archive, decompress_archive, encode_archive, inspect_archive
from .batches import compress_many, decompress_many
from .errors import ArdmzipError, CorruptFileError, FormatError, LimitError, ModelError, UnsupportedImageError
from .header import FORMAT_VERSION, Header
from .registry import REGISTRY, REGISTRY_VERSION
from . import pillow_plugin

pillow_plugin.register()  # Image.open / Image.save read and write .ardm once ardmzip is imported

try:
    __version__ = version("ardmzip")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"

__all__ = [
    "compress", "decompress", "inspect", "compress_file", "decompress_file", "open_image", "model_bits",
    "compress_measured", "Measured", "MAX_SEARCH", "model_info", "ModelInfo",
    "compress_many", "decompress_many",
    "compress_archive", "decompress_archive", "encode_archive", "inspect_archive",
    "ArdmzipError", "CorruptFileError", "FormatError", "LimitError", "ModelError", "UnsupportedImageError",
    "Header", "FORMAT_VERSION", "REGISTRY", "REGISTRY_VERSION", "__version__",
]
