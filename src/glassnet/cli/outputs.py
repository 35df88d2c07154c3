"""Output places checked before any work: the staging of an output folder, and single files.

A command's files are written into a staging folder and moved into the output folder at the end,
all or nothing (:class:`OutputFolder`); a single output file is checked with
:func:`check_output_file` before any work is done.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import platform
import re
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator

from .common import CommandError

__all__ = ["OutputFolder", "check_output_file"]

#: staging folders are named ``.glassnet-stage-PID-HOST-XXXXXXXX`` (HOST: a hash of the host name)
_STAGE_PREFIX = ".glassnet-stage-"
_STAGE_NAME = re.compile(r"^\.glassnet-stage-(\d+)-([0-9a-f]{8})-")
_BACKUPS = ".replaced"


def _host_tag() -> str:
    return hashlib.sha256(platform.node().encode()).hexdigest()[:8]


def _alive(pid: int) -> bool:
    """Whether process ``pid`` of this host may still be running (True when unsure)."""
    if pid <= 0 or pid == os.getpid() or os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process, say
        return True
    return True


def _remove_stale_stages(folder: str) -> None:
    """Remove the staging folders of this host's processes that no longer run (a run killed
    with SIGKILL cannot clean up after itself)."""
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        found = _STAGE_NAME.match(entry)
        if found and found[2] == _host_tag() and not _alive(int(found[1])):
            shutil.rmtree(os.path.join(folder, entry), ignore_errors=True)


def _writable(folder: str) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


def _nearest_existing(path: str) -> str:
    """``path`` or the nearest of its parent folders that exists (as the user would write it)."""
    while not os.path.lexists(path):
        parent = os.path.dirname(path.rstrip(os.sep) or path)
        if not parent:
            return "."
        if parent == path:  # the root
            return path
        path = parent
    return path


def _move(source: str, target: str) -> None:
    """Rename ``source`` to ``target``; across file systems, copy next to ``target`` first."""
    try:
        os.replace(source, target)
        return
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
    partial = f"{target}.glassnet-{os.getpid()}.part"
    try:
        shutil.copy2(source, partial)
        os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise
    os.unlink(source)


def _keep_mode(existing: str, staged: str) -> None:
    """Give the staged file the mode (and, where allowed, the owner) of the regular file it
    replaces, as saving over a file does."""
    status = os.stat(existing)
    if not stat.S_ISREG(status.st_mode):
        return
    os.chmod(staged, stat.S_IMODE(status.st_mode))
    with contextlib.suppress(OSError):
        os.chown(staged, status.st_uid, status.st_gid)


def _keep_copy(path: str, copy: str) -> None:
    """Keep what ``path`` holds at ``copy`` (a hard link where possible)."""
    try:
        os.link(path, copy)
    except OSError:
        shutil.copy2(path, copy)


class OutputFolder:
    """The folder a command writes its files into, checked before any work is done.

    Files are written into a staging folder (``.glassnet-stage-...``, beside the folder where
    possible, else inside it) and moved in at the end, all or nothing: if a move fails, the files
    moved so far are put back as they were. A failed run leaves the folder exactly as it was; a
    staging folder left by a killed run is removed by the next run that stages there. A symbolic
    link in the folder is written through, to the file it points to.

    Parameters
    ----------
    path : str
        The folder, as the user gave it (messages name it so).
    flag : str
        The option that named it, for messages.
    command : str
        The command, for messages.

    Raises
    ------
    CommandError
        When ``path`` is a file, or the folder (or the folder it would be created in) cannot be
        written to.
    """

    def __init__(self, path: str, flag: str, command: str) -> None:
        self.path, self.flag, self.command = path, flag, command
        self._obsolete: set[str] = set()
        self.exists = os.path.isdir(path)
        if os.path.lexists(path) and not self.exists:
            kind = "a broken symbolic link" if os.path.islink(path) else "a file"
            raise CommandError(f"{flag} {path} is {kind}, not a folder")
        if self.exists:
            if not _writable(path):
                raise CommandError(f"cannot write into {flag} {path}: permission denied")
            return
        ancestor = _nearest_existing(path)
        if not os.path.isdir(ancestor):
            raise CommandError(f"cannot create {flag} {path}: {ancestor} is not a folder")
        if not _writable(ancestor):
            raise CommandError(
                f"cannot create {flag} {path}: permission denied in the folder {ancestor}"
            )

    def check_names(self, names: Iterable[str]) -> None:
        """Refuse, before any work, names the folder cannot take: a folder or something other
        than a regular file (a FIFO, a device) in the way, or a link into a folder that cannot be
        written to."""
        if not self.exists:
            return
        for name in names:
            path = os.path.join(self.path, name)
            if not os.path.lexists(path):
                continue
            if os.path.isdir(path):
                raise CommandError(
                    f"{path} is a folder, but {self.command} writes a file of that name: move it "
                    f"away or choose another {self.flag}"
                )
            with contextlib.suppress(FileNotFoundError):  # a link to a file yet to be made
                mode = os.stat(path).st_mode
                if not stat.S_ISREG(mode):
                    raise CommandError(f"{path} exists and is not a regular file")
            if os.path.islink(path):
                folder = os.path.dirname(os.path.realpath(path))
                if not os.path.isdir(folder) or not _writable(folder):
                    raise CommandError(
                        f"cannot write {path}: it links into {folder}, which cannot be written to"
                    )

    def discard(self, name: str) -> None:
        """Remove ``name`` from the folder with the rest of the run's outputs: an old file
        that this run could not replace (a figure it could not draw) would mislead."""
        self._obsolete.add(name)

    def _stage_home(self) -> str:
        """Where the staging folder goes: beside the folder (same file system), else inside."""
        if not self.exists:
            return os.path.realpath(_nearest_existing(self.path))
        real = os.path.realpath(self.path)
        parent = os.path.dirname(real)
        with contextlib.suppress(OSError):
            if _writable(parent) and os.stat(parent).st_dev == os.stat(real).st_dev:
                return parent
        return real

    @contextlib.contextmanager
    def staging(self) -> Iterator[str]:
        """Yield a staging folder; move its files into the folder only if the block succeeds."""
        home = self._stage_home()
        _remove_stale_stages(home)
        try:
            stage = tempfile.mkdtemp(
                prefix=f"{_STAGE_PREFIX}{os.getpid()}-{_host_tag()}-", dir=home
            )
        except OSError as error:
            raise CommandError(
                f"cannot write into {self.flag} {self.path}: {error.strerror or error}"
            ) from None
        try:
            try:
                yield stage
            except (OSError, ValueError) as error:
                raise self._rephrased(error, stage) from None
            self._commit(stage)
        finally:
            shutil.rmtree(stage, ignore_errors=True)

    def _rephrased(self, error: OSError | ValueError, stage: str) -> Exception:
        """An error about a staged file, told about the file in the folder (the staging folder
        means nothing to the user)."""
        filename = getattr(error, "filename", None)
        if isinstance(filename, str) and filename.startswith(stage + os.sep):
            name = os.path.join(self.path, os.path.relpath(filename, stage))
            reason = getattr(error, "strerror", None) or str(error).replace(filename, name)
            return CommandError(f"cannot write {name}: {reason}")
        if stage in str(error):
            return CommandError(str(error).replace(stage, self.path))
        return error

    def _destination(self, name: str) -> str:
        path = os.path.join(self.path, name)
        return os.path.realpath(path) if os.path.islink(path) else path

    def _make_folder(self) -> list[str]:
        """Create the folder and any missing parents; return those created, outermost first."""
        missing = []
        path = self.path
        while not os.path.lexists(path):
            missing.append(path)
            path = os.path.dirname(path.rstrip(os.sep))
            if not path:
                break
        for folder in reversed(missing):
            try:
                os.mkdir(folder)
            except OSError as error:
                for made in missing[missing.index(folder) + 1 :]:
                    with contextlib.suppress(OSError):
                        os.rmdir(made)
                raise CommandError(
                    f"cannot create {self.flag} {self.path}: {error.strerror or error}"
                ) from None
        return list(reversed(missing))

    def _commit(self, stage: str) -> None:
        """Move the staged files in, all or nothing."""
        names = sorted(os.listdir(stage))
        created = self._make_folder()
        backups = os.path.join(stage, _BACKUPS)
        os.mkdir(backups)
        # what the folder held where each name went: (the path, its old content or None)
        moved: list[tuple[str, str | None]] = []
        name = ""
        try:
            for name in names:
                target = self._destination(name)
                backup = None
                staged = os.path.join(stage, name)
                if os.path.lexists(target):
                    backup = os.path.join(backups, name)
                    _keep_copy(target, backup)
                    _keep_mode(target, staged)
                _move(staged, target)
                moved.append((target, backup))
            for name in sorted(self._obsolete - set(names)):
                target = os.path.join(self.path, name)
                if os.path.isfile(target) and not os.path.islink(target):
                    backup = os.path.join(backups, name)
                    _keep_copy(target, backup)
                    os.unlink(target)
                    moved.append((target, backup))
        except BaseException as error:
            for target, backup in reversed(moved):
                with contextlib.suppress(OSError):
                    if backup is None:
                        os.unlink(target)
                    else:
                        _move(backup, target)
            for folder in reversed(created):
                with contextlib.suppress(OSError):
                    os.rmdir(folder)
            if isinstance(error, OSError):
                raise CommandError(
                    f"cannot write {os.path.join(self.path, name)}: {error.strerror or error}; "
                    f"{self.flag} {self.path} is left as it was"
                ) from None
            raise


def check_output_file(path: str, flag: str, screen: bool = True) -> None:
    """Refuse, before any work, a file that cannot be written: a folder, something other than
    a regular file, or a place in a folder that does not exist or cannot be written to.
    ``screen``: whether ``-`` (standard output) is an alternative to mention."""
    if os.path.isdir(path):
        alternative = " (or - for standard output)" if screen else ""
        raise CommandError(f"{flag} {path} is a folder; give a file name{alternative}")
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise CommandError(f"{flag} {path} exists and is not a regular file")
    target = os.path.realpath(path) if os.path.islink(path) else path
    folder = os.path.dirname(target) or "."
    if not os.path.isdir(folder):
        problem = (
            f"{folder} is not a folder"
            if os.path.lexists(folder)
            else f"the folder {folder} does not exist"
        )
        raise CommandError(f"cannot write {flag} {path}: {problem}")
    if not _writable(folder):
        raise CommandError(f"cannot write {flag} {path}: permission denied in the folder {folder}")
