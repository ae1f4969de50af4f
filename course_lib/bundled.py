"""Where the bundled datasets live, and whether they are intact (used by :mod:`course_lib.data`).

``datasets/MANIFEST`` lists each bundled file with its sha256, size, record count, source and licence;
:func:`verify` checks a file against it before any loader reads it. Every error names the real culprit (the
file, the MANIFEST line, or ``COURSE_DATA_DIR``) and ends with a fix that restores the data byte for byte:
``git checkout`` with ``core.autocrlf=false`` in a git checkout (Git for Windows' default
``core.autocrlf=true`` rewrites text files to CRLF; the course's ``.gitattributes`` keeps ``datasets/``
binary), or a copy from the course's own ``datasets/`` when ``COURSE_DATA_DIR`` points elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path


class DatasetError(OSError):
    """A dataset file is missing or corrupt, or an online download failed."""


# --- where the data lives and whether it is intact -----------------------------------------------

MANIFEST_FIELDS = ("file", "sha256", "bytes", "records", "source", "licence")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def default_data_dir() -> Path:
    """The ``datasets/`` folder shipped beside ``course_lib`` (what ``COURSE_DATA_DIR`` overrides)."""
    return Path(__file__).resolve().parent.parent / "datasets"


def data_dir() -> Path:
    """The ``datasets/`` folder: ``$COURSE_DATA_DIR`` if set (and not empty), else :func:`default_data_dir`."""
    env = os.environ.get("COURSE_DATA_DIR")
    return Path(env) if env else default_data_dir()


def _elsewhere() -> bool:
    """Whether ``COURSE_DATA_DIR`` moves the data away from :func:`default_data_dir`."""
    env = os.environ.get("COURSE_DATA_DIR")
    return bool(env) and Path(env).resolve() != default_data_dir()


def _git_root(folder: Path) -> Path | None:
    """The git work tree holding ``folder`` (a ``.git`` folder or worktree file above it), if any."""
    for d in (folder.resolve(), *folder.resolve().parents):
        if (d / ".git").exists():
            return d
    return None


def _fix(name: str) -> str:
    """A fix that restores bundled file ``name`` (or ``MANIFEST``) byte for byte in :func:`data_dir`.

    Git's ``core.autocrlf=true`` (Git for Windows' default) rewrites text files at checkout; the course's
    ``.gitattributes`` turns that off for ``datasets/``, and ``-c core.autocrlf=false`` makes the restore
    byte-exact even in a clone made before it. A plain ``git checkout -- <path>`` is not enough there: git
    skips a file whose size and time still match its index entry (the CRLF copy it wrote itself), so the
    fix first drops the index entry (``rm --cached``, the work tree untouched), then checks the file out
    of ``HEAD`` afresh.
    """
    folder = data_dir()
    if _elsewhere():
        return (f"Fix: copy it from the course's own datasets/ with `shutil.copy2(r'{default_data_dir() / name}', "
                f"r'{folder / name}')`, or use that folder instead with `del os.environ['COURSE_DATA_DIR']`.")
    root = _git_root(folder)
    if root is None:
        return (f"Fix: {folder} is not in a git checkout: replace datasets/{name} with the file from a fresh "
                "`git clone` of the course.")
    rel = (folder.resolve() / name).relative_to(root).as_posix()
    git = f'git -C "{root}"'
    return (f"Fix: restore it with `{git} rm -q -f --cached --ignore-unmatch -- {rel} && "
            f"{git} -c core.autocrlf=false checkout HEAD -- {rel}`.")


def _env_dir_error(problem: str) -> DatasetError:
    env = os.environ["COURSE_DATA_DIR"]
    return DatasetError(
        f"COURSE_DATA_DIR={env!r} {problem}, so it is not a copy of the course's datasets/ folder. Fix: unset it "
        f"to use the course's own datasets (`del os.environ['COURSE_DATA_DIR']`; in a shell `unset "
        f"COURSE_DATA_DIR`), or fill it with `shutil.copytree(r'{default_data_dir()}', r'{env}', "
        "dirs_exist_ok=True)`."
    )


def manifest() -> dict[str, dict[str, str]]:
    """Parse ``datasets/MANIFEST`` into ``{file: {sha256, bytes, records, source, licence}}``.

    The MANIFEST is UTF-8 text (a byte-order mark and CRLF line ends are tolerated), one tab-separated line
    per file with the fields of :data:`MANIFEST_FIELDS`; ``#`` starts a comment line.

    Raises:
        DatasetError: ``COURSE_DATA_DIR`` names a missing or empty folder, or the MANIFEST is missing, not
            UTF-8, or has a malformed line (the message gives the line number and a fix).
    """
    folder = data_dir()
    path = folder / "MANIFEST"
    if _elsewhere() and not folder.is_dir():
        raise _env_dir_error("does not exist or is not a folder")
    if not path.is_file():
        if _elsewhere():
            empty = not any(folder.iterdir())
            raise _env_dir_error("is an empty folder" if empty else "holds no MANIFEST")
        raise DatasetError(f"{path} is missing. {_fix('MANIFEST')}")
    raw = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    entries: dict[str, dict[str, str]] = {}
    for number, blob in enumerate(raw.split(b"\n"), start=1):
        try:
            line = blob.decode("utf-8").removesuffix("\r")
        except UnicodeDecodeError as err:
            raise DatasetError(
                f"{path} line {number} is not UTF-8 text ({err.reason} at byte {err.start}: {blob[:48]!r}); "
                f"was it saved in another encoding? {_fix('MANIFEST')}"
            ) from None
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        problem = ""
        if len(fields) != len(MANIFEST_FIELDS):
            problem = (f"it has {len(fields)} tab-separated fields, expected {len(MANIFEST_FIELDS)} "
                       f"({', '.join(MANIFEST_FIELDS)})")
        else:
            name, sha, size, records, source, licence = fields
            if not name or "/" in name or "\\" in name or name in entries:
                problem = f"file name {name!r} is empty, a path, or listed twice"
            elif not _SHA256.fullmatch(sha):
                problem = f"sha256 {sha!r} is not 64 lowercase hex digits"
            elif not (size.isdigit() and records.isdigit()):
                problem = f"bytes {size!r} and records {records!r} must be whole numbers"
        if problem:
            raise DatasetError(f"{path} line {number} is malformed: {problem}: {line[:100]!r}. {_fix('MANIFEST')}")
        entries[name] = {"sha256": sha, "bytes": size, "records": records, "source": source, "licence": licence}
    return entries


_VERIFIED: dict[Path, tuple[float, int]] = {}


def verify(name: str) -> Path:
    """Return the path of bundled file ``name`` after checking its sha256 against the MANIFEST.

    Raises:
        ValueError: ``name`` is not listed in the MANIFEST.
        DatasetError: the file is missing or its sha256 does not match (a file whose only change is
            Windows CRLF line ends is named as such); also whatever :func:`manifest` raises. Every message
            ends with a fix that restores the file byte for byte.
    """
    entries = manifest()
    if name not in entries:
        raise ValueError(f"name must be one of the bundled files {sorted(entries)}, got {name!r}")
    path = data_dir() / name
    if not path.is_file():
        raise DatasetError(f"Dataset file {path} is missing. {_fix(name)}")
    stat = path.stat()
    if _VERIFIED.get(path) == (stat.st_mtime, stat.st_size):
        return path
    blob = path.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    want = entries[name]["sha256"]
    if digest != want:
        if b"\r\n" in blob and hashlib.sha256(blob.replace(b"\r\n", b"\n")).hexdigest() == want:
            why = ("its line ends were converted to Windows CRLF (by git's core.autocrlf=true at checkout, "
                   "or by an editor)")
        else:
            why = (f"sha256 {digest[:12]}... does not match the MANIFEST ({want[:12]}...; "
                   f"{stat.st_size} bytes, the MANIFEST says {entries[name]['bytes']})")
        raise DatasetError(f"Dataset file {path} is corrupt: {why}. {_fix(name)}")
    _VERIFIED[path] = (stat.st_mtime, stat.st_size)
    return path
