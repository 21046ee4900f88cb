"""The command line's default thread count: the cores other work leaves idle."""

import shutil

import pytest
import torch
from click.testing import CliRunner

from ardmzip import _engine as engine
from ardmzip import cli_files, cpus
from ardmzip.cli import main
from conftest import FIXTURES


@pytest.mark.parametrize("load,want", [(0.0, 2), (0.4, 2), (0.6, 1), (1.0, 1), (1.4, 1), (7.0, 1)])
def test_the_load_average_takes_cores_away(monkeypatch, load, want):
    monkeypatch.setattr(cpus, "cores", lambda: 2)
    assert cpus.idle_cores(load) == want


def test_never_more_than_the_usable_cores(monkeypatch):
    monkeypatch.setattr(cpus, "cores", lambda: 3)
    assert cpus.idle_cores(-2.0) == 3  # a load below zero is no reason for more threads than cores


def test_no_load_average_means_every_core(monkeypatch):
    def missing():
        raise OSError("no load average here")

    monkeypatch.setattr(cpus, "cores", lambda: 4)
    monkeypatch.setattr(cpus.os, "getloadavg", missing)
    assert cpus.idle_cores() == 4
    monkeypatch.setattr(cpus.os, "getloadavg", lambda: (2.8, 1.0, 1.0))
    assert cpus.idle_cores() == 1


@pytest.mark.parametrize("asked,want", [(None, 3), (1, 1)])
def test_one_file_codes_with_the_idle_cores_unless_told(tiny_registry, tmp_path, monkeypatch, asked, want):
    seen = []
    encode, decode = engine.encode_parts, engine.decode_parts

    def spy(real):
        def call(*args, **kwargs):
            seen.append(torch.get_num_threads())
            return real(*args, **kwargs)
        return call

    monkeypatch.setattr(engine, "encode_parts", spy(encode))
    monkeypatch.setattr(engine, "decode_parts", spy(decode))
    monkeypatch.setattr(cli_files, "idle_cores", lambda: 3)
    shutil.copy(FIXTURES / "kodim05_crop17x33.png", tmp_path / "x.png")
    threads = [] if asked is None else ["--threads", str(asked)]
    runner = CliRunner()
    assert runner.invoke(main, ["compress", "--budget", "2", *threads, str(tmp_path / "x.png")]).exit_code == 0
    assert runner.invoke(main, ["decompress", "-f", *threads, str(tmp_path / "x.png.ardm")]).exit_code == 0
    assert seen == [want, want]
