"""The store as a ledger: commands as data, one pure function to apply them, a journal format.

Every change a `shell.StateStore` makes is a `Command` (built by a factory
that validates it); `apply_command` applies one to the store's whole
`LedgerState` and returns the reply; replaying a journal is a fold of it
(`replay`, `recover_state`). `core.ledger.encoding` writes commands and
`core.ledger.snapshot` whole states as versioned, checksummed JSON, read back exactly;
`command_to_wire` and `command_from_wire` carry an update batch to a store's actor as its
entry's text.
"""

from core.ledger._wire import command_from_wire, command_to_wire
from core.ledger.commands import (
    FORMAT_VERSION,
    Command,
    add_tasks_command,
    close_job_command,
    create_job_command,
    create_store_command,
    record_costs_command,
    release_command,
    reserve_command,
    update_tasks_command,
)
from core.ledger.encoding import checksum, decode_entry
from core.ledger.recovery import Recovered, recover_state
from core.ledger.snapshot import (
    SNAPSHOT_FORMAT_VERSION,
    EncodedSnapshot,
    JobPart,
    PartReader,
    decode_snapshot,
    encode_snapshot,
    encode_snapshot_since,
)
from core.ledger.state import (
    LedgerState,
    apply_command,
    job_state,
    job_summary,
    job_version,
    job_versions,
    open_ledger,
    poll_job,
    replay,
)

__all__ = [
    "FORMAT_VERSION",
    "SNAPSHOT_FORMAT_VERSION",
    "Command",
    "EncodedSnapshot",
    "JobPart",
    "LedgerState",
    "PartReader",
    "Recovered",
    "add_tasks_command",
    "apply_command",
    "checksum",
    "close_job_command",
    "command_from_wire",
    "command_to_wire",
    "create_job_command",
    "create_store_command",
    "decode_entry",
    "decode_snapshot",
    "encode_snapshot",
    "encode_snapshot_since",
    "job_state",
    "job_summary",
    "job_version",
    "job_versions",
    "open_ledger",
    "poll_job",
    "record_costs_command",
    "recover_state",
    "release_command",
    "replay",
    "reserve_command",
    "update_tasks_command",
]
