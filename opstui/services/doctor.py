"""``opstui doctor``: check a database and its surroundings, say what to fix.

Each check is a small function returning :class:`Finding` records; the pure ones take the
facts they judge as arguments (so tests can feed them any setup), and :func:`diagnose`
gathers the facts from the machine.  Nothing here writes to the database: files are
opened read-only through SQLite's ``mode=ro`` URI.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

OK = "ok"
WARN = "warn"
PROBLEM = "problem"

#: The first SQLite release with the WAL-reset race fixed (bug present since 3.7.0).
SQLITE_WAL_RESET_FIXED = (3, 51, 3)

#: Filesystems where WAL's shared-memory index and POSIX locks are not shared between
#: machines (or not reliable at all): SQLite's own documentation says WAL does not work
#: over a network filesystem.
NETWORK_FS = {
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "ncpfs",
    "afs",
    "9p",
    "ceph",
    "glusterfs",
    "fuse.glusterfs",
    "fuse.sshfs",
    "sshfs",
    "fuse.s3fs",
    "fuse.rclone",
    "fuse.gcsfuse",
    "lustre",
    "gpfs",
    "beegfs",
    "davfs",
    "fuse.davfs2",
    "virtiofs",
    "vboxsf",
    "fuse.cephfs",
    "fuse.juicefs",
    "fuse.mfs",
    "moosefs",
    "orangefs",
    "pvfs2",
    "coda",
    "gfs2",
    "ocfs2",
}

#: inotify: one instance per open dashboard (watching the database's directory), a few
#: watches each.  Below these a team server runs out quickly.
MIN_INOTIFY_INSTANCES = 32
MIN_INOTIFY_WATCHES = 1024


@dataclass(frozen=True)
class Finding:
    check: str
    status: str
    message: str
    fix: str = ""

    def as_json(self) -> dict[str, str]:
        return asdict(self)


# --- pure checks -----------------------------------------------------------------------


def check_sqlite_version(version: str) -> Finding:
    parts = tuple(int(p) for p in version.split(".")[:3] if p.isdigit())
    if parts >= SQLITE_WAL_RESET_FIXED:
        return Finding("sqlite", OK, f"SQLite {version} (has the WAL-reset fix of 3.51.3)")
    return Finding(
        "sqlite",
        WARN,
        f"SQLite {version} is older than 3.51.3: it has the WAL-reset race, which can corrupt a "
        "WAL database when two connections write or checkpoint at the same moment (rare, but "
        "a shared opstui file has many writers)",
        "use a Python whose sqlite3 module links SQLite >= 3.51.3: update the system libsqlite3 "
        "(distribution package or a build of the sqlite.org amalgamation found first via "
        "LD_LIBRARY_PATH), or a Python built against a newer SQLite (pyenv/python-build-"
        "standalone); check with: python -c 'import sqlite3; print(sqlite3.sqlite_version)'. "
        "(pysqlite3-binary 0.5.4.post2 bundles 3.51.1 and does not have the fix.)",
    )


def check_filesystem(fstype: str | None, mountpoint: str | None = None) -> Finding:
    where = f" ({mountpoint})" if mountpoint else ""
    if fstype is None:
        return Finding("filesystem", WARN, "could not tell which filesystem holds the database")
    if fstype in NETWORK_FS or fstype.startswith(("nfs", "cifs", "smb")):
        return Finding(
            "filesystem",
            PROBLEM,
            f"the database is on a network filesystem ({fstype}{where}): WAL mode needs shared "
            "memory and locks that network filesystems do not share between machines, so "
            "writers on different hosts can corrupt it",
            "keep the file on a local disk of one server and have everyone use opstui there "
            "(ssh in); never open it over NFS/SMB/sshfs",
        )
    if fstype.startswith("fuse"):
        return Finding(
            "filesystem",
            WARN,
            f"the database is on a FUSE filesystem ({fstype}{where}): make sure it supports "
            "POSIX locks and shared mmap, and that only one machine uses it",
            "a local disk (ext4, xfs, btrfs, zfs) is safest",
        )
    if fstype in ("tmpfs", "ramfs"):
        return Finding(
            "filesystem",
            WARN,
            f"the database is on {fstype}{where}: everything in it is lost at reboot",
            "move it to a disk if it is not a throwaway database",
        )
    return Finding("filesystem", OK, f"{fstype}{where} (local)")


def check_inotify(
    max_instances: int | None, max_watches: int | None, in_use: int | None = None
) -> Finding:
    if max_instances is None or max_watches is None:
        return Finding(
            "inotify",
            WARN,
            "cannot read the inotify limits: dashboards fall back to polling",
            "nothing to do unless dashboards feel slow to update (try --poll)",
        )
    used = f", {in_use} in use by you" if in_use is not None else ""
    low = []
    if max_instances < MIN_INOTIFY_INSTANCES or (
        in_use is not None and in_use >= max_instances - 2
    ):
        low.append(f"max_user_instances={max_instances}{used}")
    if max_watches < MIN_INOTIFY_WATCHES:
        low.append(f"max_user_watches={max_watches}")
    if low:
        return Finding(
            "inotify",
            PROBLEM,
            "inotify limits are low ("
            + "; ".join(low)
            + "): each open dashboard needs an instance "
            "to watch the database, and new ones will not see changes live",
            "raise them, e.g. 'sysctl fs.inotify.max_user_instances=512 fs.inotify.max_user_watches=65536' "
            "(persist in /etc/sysctl.d/)",
        )
    return Finding(
        "inotify", OK, f"max_user_instances={max_instances}{used}, max_user_watches={max_watches}"
    )


def check_journal_mode(mode: str) -> Finding:
    if mode.lower() == "wal":
        return Finding("journal", OK, "journal mode WAL")
    return Finding(
        "journal",
        PROBLEM,
        f"journal mode is {mode.upper()}, not WAL: readers block writers and many terminals "
        "will see 'database is locked'",
        "open it once with opstui for writing (e.g. 'opstui --db FILE init'), which switches it to WAL; "
        "if it stays the same, the filesystem cannot do WAL",
    )


@dataclass(frozen=True)
class FileFacts:
    path: str
    mode: int
    uid: int
    gid: int
    exists: bool = True


def check_sharing(
    directory: FileFacts, files: Iterable[FileFacts], me_uid: int, me_groups: set[int]
) -> list[Finding]:
    """Group permissions for a database several Unix users share.

    A directory counts as shared when it is group-writable or setgid, or the database file
    is group-writable; then everything must be set up for the group.  A private setup only
    needs to be writable for its owner.
    """
    files = [f for f in files if f.exists]
    db = files[0] if files else None
    world_temp = bool(directory.mode & stat.S_IWOTH and directory.mode & stat.S_ISVTX)  # /tmp
    shared = (
        bool(directory.mode & stat.S_ISGID)
        or bool(directory.mode & stat.S_IWGRP and not world_temp)
        or bool(db and db.mode & stat.S_IWGRP)
    )
    if not shared:
        return [Finding("sharing", OK, "private database (directory not shared with a group)")]
    problems: list[str] = []
    fixes: list[str] = []
    if not directory.mode & stat.S_ISGID:
        problems.append(
            f"directory {directory.path} is not setgid, so new -wal/-shm files get each "
            "user's own group and lock the others out"
        )
        fixes.append(f"chmod g+s {directory.path}")
    if not directory.mode & stat.S_IWGRP:
        problems.append(
            f"directory {directory.path} is not group-writable (SQLite creates -wal/-shm there)"
        )
        fixes.append(f"chmod g+w {directory.path}")
    for f in files:
        name = Path(f.path).name
        if not f.mode & stat.S_IWGRP or not f.mode & stat.S_IRGRP:
            problems.append(f"{name} is not group-readable and -writable")
            fixes.append(f"chmod g+rw {f.path}")
        if f.gid != directory.gid:
            problems.append(f"{name} belongs to another group than its directory")
            fixes.append(f"chgrp --reference={directory.path} {f.path}")
    if directory.gid not in me_groups and me_uid != 0:
        problems.append("you are not a member of the directory's group")
        fixes.append("ask an admin to add you to the group (then log in again)")
    if problems:
        return [
            Finding(
                "sharing",
                PROBLEM,
                "; ".join(problems),
                "; ".join(dict.fromkeys(fixes)) + " (or run 'opstui init --shared' as the owner)",
            )
        ]
    return [
        Finding(
            "sharing",
            OK,
            "shared with the directory's group: setgid directory, group-writable files",
        )
    ]


def check_schema(
    version: int | None, current: int, error: str | None, missing_indexes: list[str]
) -> list[Finding]:
    if error:
        return [
            Finding(
                "schema",
                PROBLEM,
                error,
                "restore the file from a backup (opstui never modifies a file it refuses)",
            )
        ]
    assert version is not None
    out = []
    if version < current:
        out.append(
            Finding(
                "schema",
                WARN,
                f"schema v{version}; this opstui uses v{current}",
                "the next write upgrades it in place after a backup; run 'opstui --db FILE init' to do it now",
            )
        )
    else:
        out.append(Finding("schema", OK, f"schema v{version} (this opstui: v{current})"))
    if missing_indexes:
        out.append(
            Finding(
                "indexes",
                WARN,
                f"{len(missing_indexes)} index(es) missing: {', '.join(missing_indexes[:6])}",
                "any opstui command that writes creates them (e.g. 'opstui --db FILE init')",
            )
        )
    return out


# --- facts from the machine -----------------------------------------------------------


def mount_of(path: Path) -> tuple[str | None, str | None]:
    """(fstype, mountpoint) of the filesystem holding ``path`` (Linux /proc/self/mountinfo)."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None, None
    target = str(path.resolve())
    best: tuple[int, str | None, str | None] = (-1, None, None)
    for line in lines:
        left, _, right = line.partition(" - ")
        fields = left.split()
        if len(fields) < 5 or not right:
            continue
        mnt = fields[4].replace("\\040", " ")
        if target == mnt or target.startswith(mnt.rstrip("/") + "/") or mnt == "/":
            if len(mnt) > best[0]:
                best = (len(mnt), right.split()[0], mnt)
    return best[1], best[2]


def inotify_facts() -> tuple[int | None, int | None, int | None]:
    def read(name: str) -> int | None:
        try:
            return int(Path(f"/proc/sys/fs/inotify/{name}").read_text().strip())
        except (OSError, ValueError):
            return None

    in_use = 0
    uid = os.getuid()
    try:
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if proc.stat().st_uid != uid:
                    continue
                for fd in (proc / "fd").iterdir():
                    if os.readlink(fd) == "anon_inode:inotify":
                        in_use += 1
            except OSError:
                continue
    except OSError:
        in_use = None  # type: ignore[assignment]
    return read("max_user_instances"), read("max_user_watches"), in_use


def _facts(p: Path) -> FileFacts:
    try:
        st = p.stat()
    except OSError:
        return FileFacts(str(p), 0, -1, -1, exists=False)
    return FileFacts(str(p), st.st_mode, st.st_uid, st.st_gid)


def _database_checks(path: Path, full: bool) -> list[Finding]:
    from ..errors import StoreError
    from ..store.schema import SCHEMA_VERSION, inspect_file

    out: list[Finding] = []
    try:
        version: int | None = inspect_file(path)
        error = None
    except StoreError as exc:
        version, error = None, str(exc)
    missing: list[str] = []
    if error is None:
        try:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        except sqlite3.Error as exc:
            return [Finding("open", PROBLEM, f"cannot open {path}: {exc}")]
        try:
            out.append(check_journal_mode(str(con.execute("PRAGMA journal_mode").fetchone()[0])))
            pragma = "integrity_check" if full else "quick_check"
            rows = [r[0] for r in con.execute(f"PRAGMA {pragma}(20)")]
            if rows == ["ok"]:
                out.append(Finding("integrity", OK, f"{pragma}: ok"))
            else:
                out.append(
                    Finding(
                        "integrity",
                        PROBLEM,
                        f"{pragma} found damage: {'; '.join(rows[:3])}",
                        "stop all terminals, copy the file, then recover it: "
                        "'sqlite3 FILE .recover | sqlite3 NEW.db', or restore a backup",
                    )
                )
            from ..domain import models

            have = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='index'")}
            missing = sorted(
                str(i.name)
                for t in models.metadata.sorted_tables
                for i in t.indexes
                if i.name not in have
            )
        except sqlite3.DatabaseError as exc:
            out.append(
                Finding(
                    "integrity",
                    PROBLEM,
                    f"the file cannot be read: {exc}",
                    "restore it from a backup",
                )
            )
        finally:
            con.close()
    out[:0] = check_schema(version, SCHEMA_VERSION, error, missing)
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 256 * 1024 * 1024:
        out.append(
            Finding(
                "wal",
                WARN,
                f"the -wal file is {wal.stat().st_size // (1024 * 1024)} MB: "
                "a long-running reader keeps checkpoints from finishing",
                "close terminals that have been open for days; it shrinks at the next quiet moment",
            )
        )
    return out


def _access_checks(path: Path) -> list[Finding]:
    directory = path.parent
    if not os.access(directory, os.W_OK | os.X_OK):
        sides = all(path.with_name(path.name + s).exists() for s in ("-wal", "-shm"))
        if not os.access(path, os.W_OK):
            return [
                Finding(
                    "access",
                    WARN,
                    "the database is read-only for you: you can look, not change",
                    "ask its owner for group write access if you should be able to change things",
                )
            ]
        if not sides:
            return [
                Finding(
                    "access",
                    PROBLEM,
                    f"you cannot write the directory {directory}: SQLite cannot "
                    "create the -wal/-shm files it needs",
                    f"make {directory} writable for you (group)",
                )
            ]
    elif not os.access(path, os.W_OK):
        return [
            Finding(
                "access",
                WARN,
                "the database is read-only for you: you can look, not change",
                "ask its owner for group write access if you should be able to change things",
            )
        ]
    return [Finding("access", OK, "readable and writable for you")]


def _space_check(path: Path) -> Finding:
    try:
        usage = shutil.disk_usage(path.parent)
    except OSError:
        return Finding("disk", WARN, "cannot tell how much disk space is free")
    size = path.stat().st_size if path.exists() else 0
    need = max(64 * 1024 * 1024, 2 * size)
    free_mb = usage.free // (1024 * 1024)
    if usage.free < need:
        return Finding(
            "disk",
            PROBLEM,
            f"only {free_mb} MB free next to the database: writes and "
            "upgrades (which make a backup first) can fail with 'disk is full'",
            "free some space on that filesystem",
        )
    return Finding("disk", OK, f"{free_mb:,} MB free")


def diagnose(path: str | os.PathLike[str], *, full: bool = False) -> list[Finding]:
    """All checks for the database at ``path`` and its surroundings."""
    if os.fspath(path).startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return diagnose_server(os.fspath(path))
    p = Path(path).expanduser()
    findings: list[Finding] = []
    if p.is_dir():
        findings.append(Finding("database", PROBLEM, f"{p} is a directory, not a database file"))
    elif not p.exists():
        findings.append(
            Finding(
                "database",
                PROBLEM,
                f"no database at {p}",
                f"create one with 'opstui --db {p} init' (or check --db / OPSTUI_DB)",
            )
        )
    else:
        findings.append(Finding("database", OK, f"{p} ({p.stat().st_size / 1e6:.1f} MB)"))
        findings.extend(_database_checks(p, full))
        findings.extend(_access_checks(p))
    directory = p.parent if p.parent.exists() else None
    if directory is not None:
        fstype, mnt = mount_of(directory)
        findings.append(check_filesystem(fstype, mnt))
        files = [_facts(p)] + [_facts(p.with_name(p.name + s)) for s in ("-wal", "-shm")]
        findings.extend(
            check_sharing(
                _facts(directory), files, os.getuid(), set(os.getgroups()) | {os.getgid()}
            )
        )
        if p.exists():
            findings.append(_space_check(p))
    findings.append(check_sqlite_version(sqlite3.sqlite_version))
    findings.append(check_inotify(*inotify_facts()))
    return findings


#: Oldest PostgreSQL release opstui is tested with.
MIN_SERVER_VERSION = 130000
#: Notification delivery slower than this makes live panes feel late.
SLOW_LISTENER_MS = 50.0
SLOW_ROUND_TRIP_MS = 5.0


def judge_server(f: Any, current: int) -> list[Finding]:
    """Findings for the facts of a PostgreSQL store (``store.server.ServerFacts``)."""
    if f.error:
        return [Finding("server", PROBLEM, f.error, "check the URL, the server and ~/.pgpass")]
    out = [
        Finding(
            "server",
            OK if f.server_version_num >= MIN_SERVER_VERSION else WARN,
            f"PostgreSQL {f.server_version} ({f.name}, {f.size_mb:.1f} MB)",
            "" if f.server_version_num >= MIN_SERVER_VERSION else "upgrade to PostgreSQL 13+",
        )
    ]
    if f.schema_error:
        out.append(Finding("schema", PROBLEM, f.schema_error, "run 'opstui --db URL init' on it"))
    else:
        if f.schema_version is not None and f.schema_version > current:
            out.append(
                Finding(
                    "schema",
                    PROBLEM,
                    f"schema v{f.schema_version} was made by a newer opstui (this one: v{current})",
                    "upgrade opstui",
                )
            )
        else:
            out.extend(check_schema(f.schema_version, current, None, f.missing_indexes))
        if not f.announce_trigger:
            out.append(
                Finding(
                    "announce",
                    PROBLEM,
                    "the event log has no change announcement (trigger opstui_announce): "
                    "other terminals will not see changes live",
                    "open it once with a role that may create triggers ('opstui --db URL init')",
                )
            )
    if f.missing_rights or f.sequences_without_usage:
        lacking = "; ".join(f"{t}: {', '.join(r)}" for t, r in list(f.missing_rights.items())[:3])
        if len(f.missing_rights) > 3:
            lacking += f" (and {len(f.missing_rights) - 3} more tables)"
        if f.sequences_without_usage:
            lacking += ("; " if lacking else "") + "USAGE on id sequences"
        out.append(
            Finding(
                "rights",
                PROBLEM,
                f"your role lacks rights: {lacking}",
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ROLE; "
                "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ROLE",
            )
        )
    elif not f.schema_error:
        out.append(Finding("rights", OK, "your role may read and write every opstui table"))
    if f.listener_error:
        out.append(
            Finding(
                "listener",
                PROBLEM,
                f"LISTEN/NOTIFY does not work: {f.listener_error}",
                "connect to the server directly or through a session-pooled PgBouncer "
                "(transaction pooling drops LISTEN)",
            )
        )
    elif f.listener_ms is not None:
        slow = f.listener_ms > SLOW_LISTENER_MS
        out.append(
            Finding(
                "listener",
                WARN if slow else OK,
                f"LISTEN/NOTIFY works: a notification arrived in {f.listener_ms:.1f} ms",
                "a closer or less busy server makes live panes quicker" if slow else "",
            )
        )
    if f.round_trip_ms is not None:
        slow = f.round_trip_ms > SLOW_ROUND_TRIP_MS
        out.append(
            Finding(
                "latency",
                WARN if slow else OK,
                f"round trip {f.round_trip_ms:.2f} ms (median of 20)",
                "each change costs several round trips: run opstui near the server" if slow else "",
            )
        )
    return out


def diagnose_server(url: str) -> list[Finding]:
    """All checks for a store on a PostgreSQL server (never writes to it)."""
    from ..store.schema import SCHEMA_VERSION
    from ..store.server import server_facts

    return judge_server(server_facts(url), SCHEMA_VERSION)


def summary(findings: list[Finding]) -> dict[str, Any]:
    problems = sum(1 for f in findings if f.status == PROBLEM)
    warnings = sum(1 for f in findings if f.status == WARN)
    return {"ok": problems == 0, "problems": problems, "warnings": warnings}
