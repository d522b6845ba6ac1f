"""Tests of toyaudit.batch: finding the targets of an archive, auditing each.

The archive is built in the test from the bundled demo session: the session
folder itself, its packet capture and its flow file as loose captures in
sub-folders, a capture cut short, a file that only claims to be a pcap, and
files that are no capture (a key log, an earlier run's findings.json, notes).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.batch import dying
from toyaudit import batch
from toyaudit.assess import Severity
from toyaudit.batch import (
    BatchEntry,
    BatchTarget,
    Status,
    batch_exit_code,
    find_targets,
    run_batch,
)
from toyaudit.errors import ExitCode, RulesError, SessionError

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "captures" / "demo-plushbear"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A researcher's folder: a session, loose captures, damage and clutter."""
    root = tmp_path_factory.mktemp("archive")
    shutil.copytree(DEMO, root / "bear-session")
    loose = root / "2026" / "november"
    loose.mkdir(parents=True)
    shutil.copyfile(DEMO / "traffic.pcapng", loose / "bear.pcapng")
    shutil.copyfile(DEMO / "keylog.txt", loose / "bear.pcapng.keys")
    shutil.copyfile(DEMO / "flows.mitm", loose / "app.mitm")
    whole = (DEMO / "traffic.pcapng").read_bytes()
    (root / "2026" / "cut.pcapng").write_bytes(whole[: len(whole) // 2])
    (root / "2026" / "claims.pcap").write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00")
    (root / "notes.txt").write_text("toys audited in November\n")
    (root / "findings.json").write_text('{"format": "toyaudit-findings"}\n')
    (root / ".hidden.pcapng").write_bytes(whole)
    (root / "empty.pcap").write_bytes(b"")
    return root


@pytest.fixture(scope="module")
def batch_run(
    archive: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[BatchEntry], Path, list[tuple[int, int, str]]]:
    """The archive audited once, with what the callback was told."""
    out = tmp_path_factory.mktemp("out")
    told: list[tuple[int, int, str]] = []

    def on_done(done: int, count: int, entry: BatchEntry) -> None:
        told.append((done, count, entry.target.name))

    run = run_batch(find_targets(archive), out, jobs=1, on_done=on_done)
    return list(run.entries), out, told


def test_find_targets_lists_sessions_and_captures_in_path_order(archive: Path) -> None:
    targets = find_targets(archive)

    assert [(target.name, target.session) for target in targets] == [
        ("2026/claims.pcap", False),
        ("2026/cut.pcapng", False),
        ("2026/november/app.mitm", False),
        ("2026/november/bear.pcapng", False),
        ("bear-session", True),
    ]
    assert targets[-1].path == archive / "bear-session"


def test_find_targets_takes_a_session_folder_as_its_only_target(archive: Path) -> None:
    [target] = find_targets(archive / "bear-session")

    assert (target.name, target.session) == ("bear-session", True)


def test_find_targets_does_not_follow_links_out_of_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    shutil.copyfile(DEMO / "traffic.pcapng", tmp_path / "outside.pcapng")
    (root / "link.pcapng").symlink_to(tmp_path / "outside.pcapng")
    (root / "loop").symlink_to(root)
    shutil.copyfile(DEMO / "traffic.pcapng", root / "inside.pcapng")

    assert [target.name for target in find_targets(root)] == ["inside.pcapng"]


def test_find_targets_refuses_a_folder_without_captures(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("nothing here\n")

    with pytest.raises(SessionError, match="holds no session folders or capture"):
        find_targets(tmp_path)
    with pytest.raises(SessionError, match="not a folder"):
        find_targets(tmp_path / "readme.txt")


def test_run_batch_audits_every_target_and_goes_on_after_a_failure(
    batch_run: tuple[list[BatchEntry], Path, list[tuple[int, int, str]]],
) -> None:
    entries, _out, told = batch_run
    by_name = {entry.target.name: entry for entry in entries}

    # One process: targets end in path order, each told as it ends.
    assert told == [
        (done, 5, entry.target.name) for done, entry in enumerate(entries, start=1)
    ]
    claims = by_name["2026/claims.pcap"]
    assert (claims.status, claims.exit_code, claims.reports) == (
        Status.FAILED,
        ExitCode.SESSION,
        None,
    )
    assert claims.error.startswith("claims.pcap: pcap global header cut short")
    assert "next step: " in claims.error and "\n" not in claims.error
    cut = by_name["2026/cut.pcapng"]
    assert (cut.status, cut.exit_code) == (Status.INCOMPLETE, ExitCode.PARTIAL)
    assert cut.problems >= 1
    for name in ("2026/november/app.mitm", "2026/november/bear.pcapng", "bear-session"):
        assert (by_name[name].status, by_name[name].exit_code) == (
            Status.COMPLETE,
            ExitCode.OK,
        )


def test_run_batch_summarises_what_each_audit_found(
    batch_run: tuple[list[BatchEntry], Path, list[tuple[int, int, str]]],
) -> None:
    entries, out, _told = batch_run
    session = next(entry for entry in entries if entry.target.session)
    document = json.loads((out / "bear-session" / "findings.json").read_text())

    assert session.findings == len(document["findings"]) > 0
    assert session.checks == len(document["checks"])
    assert session.manifest_sha256 == document["run"]["manifest_sha256"]
    assert set(session.categories) == {
        finding["category"]["id"] for finding in document["findings"]
    }
    assert session.highest_severity == Severity(document["findings"][0]["severity"])
    assert session.trackers == ("app-measurement.com",)
    loose = next(e for e in entries if e.target.name == "2026/november/bear.pcapng")
    loose_document = json.loads((out / loose.target.name / "findings.json").read_text())
    assert loose.findings == len(loose_document["findings"]) > 0


def test_run_batch_writes_each_targets_reports_in_its_own_folder(
    batch_run: tuple[list[BatchEntry], Path, list[tuple[int, int, str]]],
) -> None:
    entries, out, _told = batch_run

    for entry in entries:
        if entry.reports is None:
            assert not (out / entry.target.name).exists()
            continue
        assert entry.reports == entry.target.name
        names = sorted(path.name for path in (out / entry.reports).iterdir())
        assert names == ["findings.json", "report.html", "report.md"]
    # The key log beside the loose capture was used: its TLS was read.
    loose = json.loads((out / "2026/november/bear.pcapng/findings.json").read_text())
    assert "bear.pcapng.keys" in loose["coverage"]["files_read"]


def test_run_batch_stops_before_any_audit_on_a_broken_rule(
    archive: Path, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "broken.yaml").write_text("detectors:\n  - id: [unclosed\n")
    told: list[str] = []

    with pytest.raises(RulesError):
        run_batch(
            find_targets(archive),
            tmp_path / "out",
            [rules],
            on_done=lambda _done, _count, entry: told.append(entry.target.name),
        )
    assert told == [] and not (tmp_path / "out").exists()


def test_run_batch_on_several_workers_gives_the_same_entries_and_reports(
    archive: Path,
    tmp_path: Path,
    batch_run: tuple[list[BatchEntry], Path, list[tuple[int, int, str]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alone, alone_out, _told = batch_run
    told: list[str] = []
    # Five small captures are too little work to start workers for: ask anyway.
    monkeypatch.setattr(batch, "POOL_TARGETS_PER_WORKER", 1)

    run = run_batch(
        find_targets(archive),
        tmp_path,
        jobs=3,
        on_done=lambda _done, _count, entry: told.append(entry.target.name),
    )

    assert list(run.entries) == alone
    assert sorted(told) == sorted(entry.target.name for entry in alone)
    for entry in alone:
        if entry.reports is not None:
            for name in ("findings.json", "report.md", "report.html"):
                ours = (tmp_path / entry.reports / name).read_bytes()
                assert ours == (alone_out / entry.reports / name).read_bytes()


def test_a_dying_worker_fails_what_it_leaves_undone_and_the_batch_goes_on(
    tmp_path: Path,
) -> None:
    names = ["a.pcap", dying.DIES_ON, "b.pcap"]

    entries = list(
        batch._audit_in_pool(
            dying.targets(tmp_path, names), tmp_path, (), False, 1, dying.audit_or_die
        )
    )

    by_name = {entry.target.name: entry for entry in entries}
    assert sorted(by_name) == sorted(names)
    assert by_name["a.pcap"].status is Status.COMPLETE
    died = by_name[dying.DIES_ON]
    assert (died.status, died.exit_code) == (Status.FAILED, ExitCode.INTERNAL)
    assert died.error.startswith("internal error: its worker process failed")
    assert "next step: audit this target alone" in died.error
    # One worker: the pool it broke fails the target still waiting too.
    assert by_name["b.pcap"].status is Status.FAILED


@pytest.mark.parametrize(
    ("statuses", "code"),
    [
        ([Status.COMPLETE, Status.COMPLETE], 0),
        ([Status.COMPLETE, Status.INCOMPLETE], 6),
        ([Status.INCOMPLETE, Status.FAILED, Status.FAILED], 5),
    ],
)
def test_batch_exit_code_is_the_first_failure_else_partial(
    statuses: list[Status], code: int
) -> None:
    target = BatchTarget(Path("x"), "x", False)
    codes = {Status.COMPLETE: 0, Status.INCOMPLETE: 6}
    failed = iter([5, 3])
    entries = [
        BatchEntry(target, status, codes.get(status) or next(failed))
        for status in statuses
    ]

    assert batch_exit_code(entries) == code
