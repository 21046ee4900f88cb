"""The result tables of README.md and docs/results.md: which run each figure comes from, and the labels.

The one place a table is defined; ``python -m ardmzip.benchmarks.tables`` writes them into the marked
regions of the pages. A cell names a figure as ``{SOURCE:FIELD}`` (see `figures`), SOURCE one of
`SOURCES` below: a record of a run's ``summary.json`` under ``benchmarks/results/``. Model facts that no
run measured (parameters, training time) stay in the prose beside the tables, citing the model cards.
"""

from __future__ import annotations

from .codecs import CLASSICAL
from .figures import Source, Table


def _codec(run: str, codec: str, dataset: str | None = None) -> Source:
    return Source(run, (("codec", codec),) + ((("dataset", dataset),) if dataset else ()))


def _ardm(run: str, model: str, budget: int, dataset: str | None = None) -> Source:
    return _codec(run, f"ardmzip-{model}-b{budget}", dataset)


def _classical(prefix: str, run: str, dataset: str | None = None) -> dict[str, Source]:
    return {f"{prefix}-{c}": _codec(run, c, dataset) for c in CLASSICAL}


def _sixteen(prefix: str, image: str) -> dict[str, Source]:
    codecs = {"png": "PNG (level 9)", "e7": "JPEG-XL e7", "j2k": "JPEG 2000", "jls": "JPEG-LS",
              "ardm": "ardmzip budget 8"}
    return {f"{prefix}-{k}": Source("sixteen-bit", (("image", image), ("codec", c)), "rows")
            for k, c in codecs.items()}


V14, UP4 = "ardm-mix-c10-v14", "ardm-up4-c10-v4"
BUDGETS = (10, 20, 50, 100)  # the sweeps' runs; budget 32 is each model's 2,000-image run
SETS = ("cifar10", "imagenet32", "imagenet64", "kodak")
PHOTO_BUDGETS = (4, 8, 16, 32)  # the default ARDM's size/time curve on photo crops

SOURCES: dict[str, Source] = {
    # CIFAR-10, the same 2,000 test images (every fifth)
    "v14": _ardm("ardm-mix-c10-v14-cifar10-2000", V14, 32),
    "up4": _ardm("ardm-up4-c10-v4-cifar10-2000", UP4, 32),
    "idf": _codec("idf-cifar10-2000", "ardmzip-idf-c10-b1"),
    **_classical("c10", "classical-cifar10-2000"),
    **{f"v14-b{b}": _ardm("ardm-mix-c10-v14-cifar10-sweep-2000", V14, b) for b in BUDGETS},
    **{f"up4-b{b}": _ardm("ardm-up4-c10-v4-cifar10-sweep-2000", UP4, b) for b in BUDGETS},
    # both ARDMs in one run on 200 of them, after commit 57cb3d6 sped up the upscaling model
    "t200-v14": _ardm("ardm-v14-up4v4-cifar10-b32-timing-200", V14, 32),
    "t200-up4": _ardm("ardm-v14-up4v4-cifar10-b32-timing-200", UP4, 32),
    # grey conversions of 500 CIFAR-10 test images
    "grey-v14": _ardm("ardm-mix-c10-v14-cifar10-grey-500", V14, 32),
    **_classical("grey", "classical-cifar10-grey-500"),
    # Kodak, the ImageNet sample, and the classical codecs on whole sets
    "kodak-v14-b4": _ardm("ardm-kodak-24-b4-v14", V14, 4),
    "kodak2-v14-b32": _ardm("ardm-kodak-2-b32-v14", V14, 32),
    "kodak-up4-b4": _ardm("ardm-kodak-24-b4-up4v4", UP4, 4),
    "kodak-idf": _codec("idf-kodak", "ardmzip-idf-c10-b1"),
    "in32-idf": _codec("idf-imagenet", "ardmzip-idf-c10-b1", "imagenet32"),
    "in64-idf": _codec("idf-imagenet", "ardmzip-idf-c10-b1", "imagenet64"),
    "in32-v14": _ardm("ardm-v14-up4v4-imagenet32", V14, 32),
    "in32-up4": _ardm("ardm-v14-up4v4-imagenet32", UP4, 32),
    "in64-v14": _ardm("ardm-v14-up4v4-imagenet64-200", V14, 32),
    "in64-up4": _ardm("ardm-v14-up4v4-imagenet64-200", UP4, 32),
    **{k: v for s in SETS for k, v in _classical(f"{s}-all", "classical", s).items()},
    # the photo validation crops
    "photo-v14": _ardm("photoval-ardm-mix-c10-v14-100", "ardm-mix-c10", 32),
    "photo-idf": _codec("photoval-classical-idf-c10-500", "ardmzip-idf-c10-b1"),
    **_classical("photo", "photoval-classical-idf-c10-500"),
    # the photo model: photo validation crops, the ImageNet sample 64, Kodak (with the classical codecs in the same
    # run, so that the times compare), and the default ARDM's budgets on 100 of the crops beside the flows
    "photo-idfp": _codec("photoval-idf-photo-500", "ardmzip-idf-photo-b1"),
    "in64-idfp": _codec("idf-photo-imagenet64", "ardmzip-idf-photo-b1", "imagenet64"),
    "kodak-idfp": _codec("idf-photo-kodak-24", "ardmzip-idf-photo-b1"),
    "kodak-idfp-c10": _codec("idf-photo-kodak-24", "ardmzip-idf-c10-b1"),
    **_classical("kodak-run", "idf-photo-kodak-24"),
    "kodak-ddf": _codec("ddf-df-kodak-24", "ardmzip-ddf-c10-b1"),
    "kodak-df": _codec("ddf-df-kodak-24", "ardmzip-df-c10-b1"),
    **{f"curve-v14-b{b}": _ardm("photoval-curve-100", "ardm-mix-c10", b) for b in PHOTO_BUDGETS},
    "curve-idfp": _codec("photoval-curve-100", "ardmzip-idf-photo-b1"),
    "curve-idf": _codec("photoval-curve-100", "ardmzip-idf-c10-b1"),
    # the flows on 150 CIFAR-10 test images, in two runs
    "f150-idf": _codec("flows-cifar10-150", "ardmzip-idf-c10-b1"),
    "f150-df": _codec("flows-cifar10-150", "ardmzip-df-c10-b1"),
    "f150-v2": _ardm("flows-cifar10-150", "ardm-mix-c10", 10),
    "f150-idf-paper": Source("flows-cifar10-150", (("method", "IDF"),), "quoted_not_measured"),
    **_classical("f150", "flows-cifar10-150"),
    "ddf150-ddf": _codec("ddf-cifar10-150", "ardmzip-ddf-c10-b1"),
    "ddf150-idf": _codec("ddf-cifar10-150", "ardmzip-idf-c10-b1"),
    "ddf150-df": _codec("ddf-cifar10-150", "ardmzip-df-c10-b1"),
    **{f"ddf150-{c}": _codec("ddf-cifar10-150", c) for c in ("png", "webp", "jpegxl-e7")},
    # 8-class label maps made from CIFAR-10
    "rgb8-ddf": _codec("categorical-rgb8-1000", "ardmzip-ddf-rgb8-b1"),
    "rgb8-df": _codec("categorical-rgb8-1000", "ardmzip-df-rgb8-v1-b1"),
    **{f"rgb8-{c}": _codec("categorical-rgb8-1000", c) for c in ("png", "jpegxl-e7")},
    # 16-bit images
    **_sixteen("dem", "elevation 344x403 grey"),
    **_sixteen("kodim", "kodim23/2 384x256 RGB"),
}

CLASSICAL_ROWS = (("png", "PNG (Pillow, optimize)"), ("jpegls", "JPEG-LS"), ("jpeg2000", "JPEG 2000"),
                  ("webp", "WebP lossless"), ("jpegxl-e7", "JPEG-XL e7"), ("jpegxl-e9", "JPEG-XL e9"))


def classical_rows(*cells: str, label: bool = True) -> tuple[tuple[str, ...], ...]:
    """One row per classical codec; '@' in each cell template stands for the codec's name."""
    return tuple(((name,) if label else ()) + tuple(c.replace("@", codec) for c in cells)
                 for codec, name in CLASSICAL_ROWS)


def per_budget(cell: str, at32: str) -> tuple[str, ...]:
    """A sweep's row: '@' stands for the budget's source suffix; budget 32's cell is given apart."""
    return tuple(cell.replace("@", f"b{b}") for b in BUDGETS[:2]) + (at32,) + tuple(
        cell.replace("@", f"b{b}") for b in BUDGETS[2:])


SWEEP_HEADER = ("budget", "10", "20", "32", "50", "100")
TIMES = "encode / decode ms per image, mean"

TABLES: dict[str, Table] = {
    "readme-results": Table(
        ("codec", "CIFAR-10, bits/dim", "Kodak, bits/dim", "encode / decode ms per CIFAR-10 image, mean"),
        (("ardmzip `ardm-mix-c10` (the default, v14; ARDM, budget 32)", "**{v14:bpd}**",
          "{kodak-v14-b4:bpd} at budget 4 ({kodak2-v14-b32:bpd} at budget 32 on two photos)",
          "{v14:enc_ms} / {v14:dec_ms} (two images at once on the two cores)"),
         ("ardmzip `ardm-up4-c10` (v4; depth-upscaling ARDM, budget 32)", "**{up4:bpd}**",
          "{kodak-up4-b4:bpd} at budget 4",
          "{t200-up4:enc_ms} / {t200-up4:dec_ms} ({t200-up4:images} images; v14 {t200-v14:enc_ms} / "
          "{t200-v14:dec_ms} in the same run)"),
         ("ardmzip `idf-c10` (Integer Discrete Flow, one pass)", "{idf:bpd}", "{kodak-idf:bpd}",
          "{idf:enc_ms} / {idf:dec_ms}"),
         ("ardmzip `ddf-c10` (Discrete Denoising Flow, one pass)", "{ddf150-ddf:bpd} ({ddf150-ddf:images} images) \\*",
          "{kodak-ddf:bpd}", "{ddf150-ddf:enc_ms} / {ddf150-ddf:dec_ms} ({ddf150-ddf:images} images)"),
         ("ardmzip `df-c10` (Discrete Flow, trained 12 minutes)", "{ddf150-df:bpd} ({ddf150-df:images} images) \\*",
          "{kodak-df:bpd}", "{ddf150-df:enc_ms} / {ddf150-df:dec_ms} ({ddf150-df:images} images)"))
        + classical_rows("{c10-@:bpd}", "{kodak-all-@:bpd}", ""),
        "\\* On {ddf150-ddf:images} spread test images, where PNG codes {ddf150-png:bpd}, WebP lossless "
        "{ddf150-webp:bpd}, JPEG-XL e7 {ddf150-jpegxl-e7:bpd} and `idf-c10` {ddf150-idf:bpd}. `ddf-rgb8` "
        "codes label maps of 8 classes: {rgb8-ddf:bpd} bits/dim on {rgb8-ddf:images} maps made from "
        "CIFAR-10, against JPEG-XL e7 {rgb8-jpegxl-e7:bpd} and PNG {rgb8-png:bpd}."),
    "readme-photos": Table(
        ("codec", "Kodak (24), bits/dim", "s per Kodak photo, encode / decode", "ImageNet 64x64 sample, bits/dim",
         "photo crops 64x64, bits/dim"),
        (("ardmzip `idf-photo` (the default for colour above 64x64; flow trained on photos)", "**{kodak-idfp:bpd}**",
          "{kodak-idfp:enc_s:.1f} / {kodak-idfp:dec_s:.1f}", "{in64-idfp:bpd} ({in64-idfp:images})",
          "{photo-idfp:bpd} ({photo-idfp:images})"),
         ("ardmzip `idf-c10`", "{kodak-idfp-c10:bpd}", "{kodak-idfp-c10:enc_s:.1f} / {kodak-idfp-c10:dec_s:.1f}",
          "{in64-idf:bpd} ({in64-idf:images})", "{photo-idf:bpd} ({photo-idf:images})"),
         ("ardmzip `ardm-mix-c10` (v14)", "{kodak-v14-b4:bpd} at budget 4",
          "{kodak-v14-b4:enc_s:.0f} / {kodak-v14-b4:dec_s:.0f} at budget 4 \\*",
          "{in64-v14:bpd} ({in64-v14:images})", "{photo-v14:bpd} ({photo-v14:images})"),
         ("ardmzip `ddf-c10`", "{kodak-ddf:bpd}", "{kodak-ddf:enc_s:.1f} / {kodak-ddf:dec_s:.1f}", "", ""))
        + classical_rows("{kodak-run-@:bpd}", "{kodak-run-@:enc_s:.2f} / {kodak-run-@:dec_s:.2f}",
                         "{imagenet64-all-@:bpd} ({imagenet64-all-@:images})", "{photo-@:bpd} ({photo-@:images})"),
        "Seconds per photo on one thread, another job on the other core; `idf-photo`, `idf-c10` and the classical "
        "codecs in one run, `ddf-c10` in another. \\* An earlier run, two photos at a time on the two cores."),
    "photo-curve": Table(
        ("on {curve-idfp:images} photo crops (64x64)", "`idf-photo`", "`idf-c10`",
         *(f"`ardm-mix-c10` budget {b}" for b in PHOTO_BUDGETS)),
        (("bits/dim", "**{curve-idfp:bpd}**", "{curve-idf:bpd}", *(f"{{curve-v14-b{b}:bpd}}" for b in PHOTO_BUDGETS)),
         ("encode / decode ms per crop", "{curve-idfp:enc_ms} / {curve-idfp:dec_ms}",
          "{curve-idf:enc_ms} / {curve-idf:dec_ms}",
          *(f"{{curve-v14-b{b}:enc_ms}} / {{curve-v14-b{b}:dec_ms}}" for b in PHOTO_BUDGETS)))),
    "cifar10": Table(
        ("codec", "bits/dim", "model NLL", TIMES),
        (("ardmzip, default `ardm-mix-c10` (v14, ARDM trained on the coder's calls of colour images and grey "
          "planes, dispersed orders), budget 32", "**{v14:bpd}**", "{v14:nll}",
          "{v14:enc_ms} / {v14:dec_ms} (two images at once on the two cores)"),
         ("ardmzip `ardm-up4-c10` (v4, depth-upscaling ARDM trained on its coder's calls), budget 32",
          "**{up4:bpd}**", "{up4:nll}", "{up4:enc_ms} / {up4:dec_ms} (two at once; before commit 57cb3d6) \\*"),
         ("ardmzip `idf-c10` (Integer Discrete Flow, one pass)", "**{idf:bpd}**", "{idf:nll}",
          "{idf:enc_ms} / {idf:dec_ms}"))
        + classical_rows("{c10-@:bpd}", "", ""),
        "\\* Measured in a later session than the default's, on a machine without BF16 instructions whose "
        "speed against the others was not compared, and before commit 57cb3d6 (the head computes only the "
        "classes inside the known digits' interval; the same bytes). After it, both entries in one run on "
        "{t200-v14:images} of the images (every 50th): v4 {t200-up4:enc_ms} / {t200-up4:dec_ms} ms, v14 "
        "{t200-v14:enc_ms} / {t200-v14:dec_ms}, for {t200-up4:bpd} against {t200-v14:bpd} bits/dim on "
        "these {t200-v14:images}."),
    "cifar10-budgets": Table(
        SWEEP_HEADER,
        (("**v14 (the default), bits/dim (file bytes)**",) + per_budget("**{v14-@:bpd}**", "**{v14:bpd}**"),
         ("v14 model NLL",) + per_budget("{v14-@:nll}", "{v14:nll}"),
         (f"v14 {TIMES} (two at once)",) + tuple(
             c + (" \\*\\*" if i > 2 else "") for i, c in enumerate(
                 per_budget("{v14-@:enc_ms} / {v14-@:dec_ms}", "{v14:enc_ms} / {v14:dec_ms}"))))),
    "cifar10-budgets-up4": Table(
        SWEEP_HEADER,
        (("`ardm-up4-c10` (v4), bits/dim (NLL)",) + per_budget("{up4-@:bpd} ({up4-@:nll})", "{up4:bpd} ({up4:nll})"),
         (f"v4 {TIMES} (two at once) \\*\\*\\*",) + per_budget("{up4-@:enc_ms} / {up4-@:dec_ms}",
                                                                 "{up4:enc_ms} / {up4:dec_ms} \\*"),
         ("default v14, bits/dim",) + per_budget("{v14-@:bpd}", "{v14:bpd}"))),
    "grey": Table(
        ("codec", "bits/dim", "model NLL", TIMES),
        (("ardmzip, default `ardm-mix-c10` (v14)", "**{grey-v14:bpd}**", "{grey-v14:nll}",
          "{grey-v14:enc_ms} / {grey-v14:dec_ms} (two images at once on the two cores)"),)
        + classical_rows("{grey-@:bpd}", "", "")),
    "other-sets": Table(
        ("model", "CIFAR-10 test", "ImageNet sample 32 ({imagenet32-all-png:images})",
         "ImageNet sample 64 ({imagenet64-all-png:images})", "Kodak ({kodak-all-png:images})"),
        (("`idf-c10` (Integer Discrete Flow)", "{idf:bpd} ({idf:images} images)",
          "{in32-idf:bpd} ({in32-idf:enc_ms} ms/image)", "{in64-idf:bpd} ({in64-idf:enc_ms} ms/image)",
          "{kodak-idf:bpd}"),
         ("`idf-photo` (Integer Discrete Flow trained on photos)", "", "",
          "{in64-idfp:bpd} ({in64-idfp:enc_ms} ms/image)", "**{kodak-idfp:bpd}**"),
         ("`ardm-mix-c10` (v14, the default, budget 32)", "{v14:bpd} ({v14:images} images)",
          "**{in32-v14:bpd}** (NLL {in32-v14:nll}; {in32-v14:enc_ms} / {in32-v14:dec_ms} ms)",
          "**{in64-v14:bpd}** ({in64-v14:images} images, NLL {in64-v14:nll}; {in64-v14:enc_s:.2f} / "
          "{in64-v14:dec_s:.2f} s)", "{kodak-v14-b4:bpd} at budget 4 ({kodak2-v14-b32:bpd} at 32 on 2)"),
         ("`ardm-up4-c10` (v4, budget 32)", "{up4:bpd} ({up4:images} images)",
          "{in32-up4:bpd} (NLL {in32-up4:nll}; {in32-up4:enc_ms} / {in32-up4:dec_ms} ms)",
          "{in64-up4:bpd} ({in64-up4:images} images, NLL {in64-up4:nll}; {in64-up4:enc_s:.2f} / "
          "{in64-up4:dec_s:.2f} s)", "{kodak-up4-b4:bpd} at budget 4"))),
    "classical-sets": Table(
        ("codec", "CIFAR-10 test ({cifar10-all-png:images})", "ImageNet sample 32 ({imagenet32-all-png:images})",
         "ImageNet sample 64 ({imagenet64-all-png:images})", "Kodak ({kodak-all-png:images})"),
        classical_rows(*(f"{{{s}-all-@:bpd}}" for s in SETS))),
    "photo-crops": Table(
        ("codec", "images", "bits/dim", "model NLL"),
        (("ardmzip `ardm-mix-c10` (v14, budget 32)", "{photo-v14:images}", "{photo-v14:bpd}", "{photo-v14:nll}"),
         ("ardmzip `idf-photo`", "{photo-idfp:images}", "{photo-idfp:bpd}", "{photo-idfp:nll}"),
         ("ardmzip `idf-c10`", "{photo-idf:images}", "{photo-idf:bpd}", "{photo-idf:nll}"))
        + classical_rows("{photo-@:images}", "{photo-@:bpd}", "")),
    "flows": Table(
        ("codec", "bits/dim", "model NLL", "encode ms/image", "decode ms/image"),
        (("`idf-c10`, Integer Discrete Flow ([card](../compressor/weights/idf-c10-v1.md))", "**{f150-idf:bpd}**",
          "{f150-idf:nll}", "{f150-idf:enc_ms}", "{f150-idf:dec_ms}"),
         ("`df-c10`, Discrete Flow, modular ([card](../compressor/weights/df-c10-v1.md))", "{f150-df:bpd}",
          "{f150-df:nll}", "{f150-df:enc_ms}", "{f150-df:dec_ms}"),
         ("`ardm-mix-c10-v2` (then the default ARDM), budget 10", "{f150-v2:bpd}", "{f150-v2:nll}",
          "{f150-v2:enc_ms}", "{f150-v2:dec_ms}"),
         ("PNG / WebP lossless / JPEG-XL e7", "{f150-png:bpd} / {f150-webp:bpd} / {f150-jpegxl-e7:bpd}", "", "", ""),
         ("*IDF, Hoogeboom et al. 2019 (quoted, not measured)*", "*{f150-idf-paper:bpd:.2f}*", "", "", ""))),
    "ddf": Table(
        ("codec", "bits/dim", "model NLL", "encode ms/image", "decode ms/image"),
        (("`ddf-c10`, Discrete Denoising Flow", "{ddf150-ddf:bpd}", "{ddf150-ddf:nll}", "{ddf150-ddf:enc_ms}",
          "{ddf150-ddf:dec_ms}"),
         ("`idf-c10`, Integer Discrete Flow", "**{ddf150-idf:bpd}**", "{ddf150-idf:nll}", "{ddf150-idf:enc_ms}",
          "{ddf150-idf:dec_ms}"),
         ("`df-c10`, Discrete Flow, modular", "{ddf150-df:bpd}", "{ddf150-df:nll}", "{ddf150-df:enc_ms}",
          "{ddf150-df:dec_ms}"),
         ("PNG / WebP lossless / JPEG-XL e7", "{ddf150-png:bpd} / {ddf150-webp:bpd} / {ddf150-jpegxl-e7:bpd}",
          "", "", ""))),
    "label-maps": Table(
        ("codec", "bits/dim", "model NLL", "encode ms/map"),
        (("`ddf-rgb8`, Discrete Denoising Flow", "**{rgb8-ddf:bpd}**", "{rgb8-ddf:nll}", "{rgb8-ddf:enc_ms}"),
         ("Discrete Flow (4 one-hot couplings, width 48), same maps", "{rgb8-df:bpd}", "{rgb8-df:nll}",
          "{rgb8-df:enc_ms}"),
         ("JPEG-XL e7", "{rgb8-jpegxl-e7:bpd}", "", "{rgb8-jpegxl-e7:enc_ms:.1f}"),
         ("PNG (optimize)", "{rgb8-png:bpd}", "", "{rgb8-png:enc_ms:.1f}"))),
    "sixteen-bit": Table(
        ("image", "PNG (level 9)", "JPEG-XL e7", "JPEG 2000", "JPEG-LS", "ardmzip budget 8 (model NLL)",
         "ardmzip encode / decode"),
        tuple((label,) + tuple(f"{{{p}-{c}:bits_per_dim}}" for c in ("png", "e7", "j2k", "jls"))
              + (f"{{{p}-ardm:bits_per_dim}} ({{{p}-ardm:model_nll}})",
                 f"{{{p}-ardm:encode_s:.0f}} s / {{{p}-ardm:decode_s:.0f}} s")
              for p, label in (("dem", "Jacksboro elevation model (matplotlib sample data), 344x403 grey"),
                               ("kodim", "Kodak kodim23 box-averaged 2x2 to 384x256, 16-bit RGB")))),
}
