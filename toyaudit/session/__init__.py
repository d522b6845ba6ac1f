"""Sessions: the folder one capture of one toy leaves behind, and loose captures.

:func:`load_session` verifies and reads a session folder (docs/session-format.md);
:func:`open_evidence` accepts what a user points ``toyaudit audit`` at: a session
folder, a single capture file, or a folder of capture files; :func:`seal_session`
writes a session's manifest.
"""

from toyaudit.session.digests import PendingDigests
from toyaudit.session.evidence import open_evidence
from toyaudit.session.folder import load_session, seal_session
from toyaudit.session.manifest import verify_manifest
from toyaudit.session.records import (
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    METADATA_FILES,
    PERSONA_FIELDS,
    PERSONA_FILE,
    SESSION_FILE,
    PersonaValue,
    Phase,
    Session,
    Toy,
)

__all__ = [
    "MANIFEST_FILE",
    "MANIFEST_FORMAT",
    "METADATA_FILES",
    "PERSONA_FIELDS",
    "PERSONA_FILE",
    "PendingDigests",
    "SESSION_FILE",
    "Phase",
    "PersonaValue",
    "Session",
    "Toy",
    "load_session",
    "open_evidence",
    "seal_session",
    "verify_manifest",
]
