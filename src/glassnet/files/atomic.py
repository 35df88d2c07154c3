"""Writing files safely: a file is replaced whole or not at all, and only a regular file is.

Writing is atomic: the bytes go to a temporary file in the same folder, which is flushed, synced and
renamed over the target, and the folder is synced. A crash leaves the previous file whole; a
temporary file left by a killed process is removed by the next save to the same path. Only regular
files are replaced (a symbolic link is written through, to its target); a device, a FIFO, a socket
or a folder is refused before anything is written. A new file gets the mode ``open()`` would give
it, a replaced one keeps its mode and owner.

Model files (:mod:`glassnet.files.container`), checkpoints and ``glassnet predict --output`` are
written through :func:`atomic_write`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
import threading

__all__ = ["PathArgument", "atomic_write", "check_save_target", "display_path", "node_kind"]

#: a file's path as the user may give it
PathArgument = str | bytes | os.PathLike[str] | os.PathLike[bytes]


# ====================================================================== paths
#: what each kind of file system node is called in messages
_NODE_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


def node_kind(mode: int) -> str:
    """What a file system node of mode ``mode`` is, in words ("a FIFO (named pipe)", …)."""
    for test, name in _NODE_KINDS:
        if test(mode):
            return name
    return "not a regular file"  # pragma: no cover - door files and the like


def _cannot_replace(shown: str, mode: int) -> OSError | ValueError:
    """The error for saving to ``shown``, a node of mode ``mode`` that is not a regular file:
    ``IsADirectoryError`` for a folder, else ``ValueError``."""
    if stat.S_ISDIR(mode):
        return IsADirectoryError(errno.EISDIR, f"cannot save to {shown}: it is a folder")
    return ValueError(f"cannot save to {shown}: it is {node_kind(mode)}, not a regular file")


def display_path(path: PathArgument) -> str:
    """``path`` (str, bytes or os.PathLike) as text, for opening and for messages."""
    try:
        return os.fsdecode(path)
    except TypeError:
        raise TypeError(
            f"a path must be a str, bytes or os.PathLike, got {type(path).__name__}"
        ) from None


# ====================================================================== writing
_UMASK_LOCK = threading.Lock()


def _current_umask() -> int:
    """The process's umask, read without changing it where the system tells it (Linux's
    /proc/self/status); elsewhere set and restored at once, under a lock."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o077)  # the strictest mask while it is away
        os.umask(mask)
    return mask


def _temporary_name_pattern(path: str) -> re.Pattern[str]:
    return re.compile(rf"^\.{re.escape(os.path.basename(path))}\.(\d+)\.[A-Za-z0-9_]+\.tmp$")


def _remove_stale_temporaries(path: str) -> None:
    """Delete temporary files that earlier saves to ``path`` left when their process died."""
    folder = os.path.dirname(path) or "."
    pattern = _temporary_name_pattern(path)
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        match = pattern.match(name)
        if not match:
            continue
        pid = int(match.group(1))
        if pid != os.getpid() and _process_alive(pid):
            continue  # another process is saving right now
        candidate = os.path.join(folder, name)
        with contextlib.suppress(OSError):
            if stat.S_ISREG(os.lstat(candidate).st_mode):  # only files we could have made
                os.unlink(candidate)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _existing_node(shown: str, target: str) -> os.stat_result | None:
    """The status of what ``target`` names now (None if nothing); refuse what is not a regular
    file."""
    try:
        status = os.stat(target)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise _save_error(shown, error) from None
    if not stat.S_ISREG(status.st_mode):
        raise _cannot_replace(shown, status.st_mode)
    return status


def _save_error(shown: str, error: OSError) -> OSError:
    """``error`` (same class and errno) with a message naming the user's path only, never the
    temporary file's."""
    if error.errno is None:
        return type(error)(f"cannot save to {shown}: {error.strerror or error}")
    reason = os.strerror(error.errno)
    reason = reason[:1].lower() + reason[1:]
    return OSError(error.errno, f"cannot save to {shown}: {reason}")


def _copy_mode(fd: int, existing: os.stat_result | None) -> None:
    """Give the new file the mode (and, where allowed, the owner) of the file it replaces, or the
    mode a plain ``open()`` would have given a new file."""
    if os.name != "posix":  # pragma: no cover - no umask or owners to keep
        return
    if existing is None:
        os.fchmod(fd, 0o666 & ~_current_umask())
        return
    mine = os.fstat(fd)
    if (mine.st_uid, mine.st_gid) != (existing.st_uid, existing.st_gid):
        try:  # root may give the file to anyone
            os.fchown(fd, existing.st_uid, existing.st_gid)
        except OSError:  # others may keep at least its group, if they belong to it
            with contextlib.suppress(OSError):
                os.fchown(fd, -1, existing.st_gid)
    os.fchmod(fd, stat.S_IMODE(existing.st_mode))  # after chown, which clears set-id bits


def check_save_target(path: PathArgument) -> str:
    """Check, before any work, that :func:`atomic_write` could write ``path``: its folder
    exists and it names a regular file or nothing (through symbolic links). Returns ``path`` as
    text.

    Raises
    ------
    ValueError, IsADirectoryError, FileNotFoundError, OSError
        As :func:`atomic_write` would.
    """
    shown = display_path(path)
    target = os.path.realpath(os.path.abspath(shown))
    _existing_node(shown, target)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            errno.ENOENT, f"cannot save to {shown}: the folder {folder} does not exist"
        )
    return shown


def atomic_write(path: PathArgument, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a reader sees the old file or the new one, never
    a mix.

    Only a regular file (or nothing) is replaced. A symbolic link is written through: its final
    target is replaced and the link stays. A new file gets the mode ``open()`` would give it
    (``0o666`` less the umask); a replaced file keeps its mode, and its owner where the system
    lets us.

    Raises
    ------
    ValueError
        If ``path`` names a device, a FIFO or a socket (nothing is written).
    IsADirectoryError
        If ``path`` names a folder.
    FileNotFoundError
        If the folder does not exist.
    OSError
        For any other failure (permission denied, disk full, …); the message names ``path``.
    """
    shown = display_path(path)
    target = os.path.realpath(os.path.abspath(shown))
    folder = os.path.dirname(target)
    existing = _existing_node(shown, target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            errno.ENOENT, f"cannot save to {shown}: the folder {folder} does not exist"
        )
    _remove_stale_temporaries(target)
    prefix = f".{os.path.basename(target)}.{os.getpid()}."
    try:
        fd, temporary = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
    except OSError as error:
        raise _save_error(shown, error) from None
    try:
        try:
            with os.fdopen(fd, "wb") as handle:
                _copy_mode(handle.fileno(), existing)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:
            raise _save_error(shown, error) from None
        _existing_node(shown, target)  # no device, FIFO or folder has taken its place since
        try:
            os.replace(temporary, target)
        except OSError as error:
            raise _save_error(shown, error) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):  # not every platform can open a folder
        folder_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(folder_fd)
        finally:
            os.close(folder_fd)
