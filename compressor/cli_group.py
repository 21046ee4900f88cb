"""A click group that also takes files with no command word, as ``gzip FILE`` and ``zstd -d FILE`` do.

``ardmzip photo.png`` and ``ardmzip -d photo.png.ardm`` run the group's default command; a first
argument that names a command (``ardmzip compress ...``) or is one of the group's own options
(``-h``, ``-V``) keeps its meaning. A file named like a command is reached as ``ardmzip -- compress``
or ``ardmzip ./compress``; a bare word that is neither a command nor an existing file is the usage
error a mistyped command was before (``No such command``, with click's suggestion). A command line
with no argument at all stands for what `bare` says: ``ardmzip`` with data piped in is ``ardmzip -``.

Other packages add commands through an entry-point group (``plugins``): the benchmarks add ``bench``
so that the library never imports them; such a command is loaded only when it runs or is listed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points

import click


class _DefaultContext(click.Context):
    """The default command's context: its path is the group's, as no command word was typed."""

    @property
    def command_path(self) -> str:
        return self.parent.command_path if self.parent is not None else super().command_path


class DefaultCommand(click.Command):
    """The default command: its usage line and usage errors' hint read ``ardmzip ...``, with no command word
    (not ``ardmzip ardmzip``)."""

    context_class = _DefaultContext


class DefaultGroup(click.Group):
    """Runs `default` when the first argument is neither a command nor one of the group's options."""

    def __init__(self, *args, default: click.Command | None = None, plugins: str | None = None,
                 bare: Callable[[], list[str]] = list, **kwargs):
        super().__init__(*args, **kwargs)
        self.default = default
        self.plugins = plugins  # the entry-point group of commands other packages add
        self.bare = bare  # the arguments a command line with none stands for ([]: the help)
        self._found: dict[str, EntryPoint] | None = None

    def _plugins(self) -> dict[str, EntryPoint]:
        if self._found is None:
            found = entry_points(group=self.plugins) if self.plugins else ()
            self._found = {ep.name: ep for ep in found if ep.name not in self.commands}
        return self._found

    def has_command(self, name: str) -> bool:
        """A command of the group's own or a plugin's, without loading the plugin."""
        return name in self.commands or name in self._plugins()

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._plugins()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and name in self._plugins():
            command = self._plugins()[name].load()
        return command

    def _own_option(self, ctx: click.Context, arg: str) -> bool:
        return any(arg in p.opts or arg in p.secondary_opts for p in self.get_params(ctx))

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args and not ctx.resilient_parsing:  # not while completing, which also starts with none
            args = self.bare()
        if self.default is not None and args and not self.has_command(args[0]) and not self._own_option(ctx, args[0]):
            args = ["--", *args]  # the group parses none of them: they all go to the default command
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        first = args[0]
        if self.default is None or self.has_command(first) or _mistyped_command(first):
            return super().resolve_command(ctx, args)
        return self.default.name, self.default, args

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_options(ctx, formatter)
        if self.default is None:
            return
        sub = click.Context(self.default, info_name=ctx.info_name, parent=ctx)
        helper = self.default.get_help_option(sub)
        rows = [r for p in self.default.get_params(sub) if p is not helper and (r := p.get_help_record(sub))]
        with formatter.section(f"Options with files and no command ({ctx.info_name} [OPTIONS] [FILE]...)"):
            formatter.write_dl(rows)


def _mistyped_command(arg: str) -> bool:
    """A bare word (no option, no path separator or suffix) that names no file: a command mistyped."""
    return not (arg.startswith("-") or "." in arg or os.sep in arg or (os.altsep or os.sep) in arg
                or os.path.lexists(arg))
