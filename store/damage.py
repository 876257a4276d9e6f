"""Damage in the cache: reporting it, setting damaged files aside in quarantine/, checking and repairing."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from frontdesk.store import journal
from frontdesk.store.errors import StoreError
from frontdesk.store.journal import QUARANTINE_DIR
from frontdesk.store.storage import BUCKET_SIZE, atomic_write, encode, read_tables

log = logging.getLogger(
    "frontdesk.store.store"
)  # the Store's logger: its damage lines keep their name


class DamageChecks:
    """The Store's damage reports, quarantine copies, `verify` and `repair` (a mixin of `Store`)."""

    def _problem(self, line: str) -> None:
        # damaged bytes can be anything: escape controls so a terminal shows them, never obeys them
        line = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in line)
        if line not in self.problems:
            log.warning("cache damaged: %s", line)
            self.problems.append(line)

    def _load_file(self, relpath: str) -> dict[str, Any]:
        """A file's tables as on disk; a damaged file is reported, set aside, and read as far as it can be."""
        data, problem = read_tables(self.root / relpath, tighten=not self.readonly)
        if problem is not None:
            self._damaged.setdefault(relpath, set()).add("")
            self._problem(
                f"{self.root / relpath} {problem}; {self._aside(relpath)}; "
                "`frontdesk doctor --repair` rewrites it with what could be read"
            )
        return data or {}

    def _damaged_records(self, relpath: str, table: str, bad: dict[str, str]) -> None:
        self._damaged.setdefault(relpath, set()).update(bad)
        listed = "; ".join(f"{key} ({why})" for key, why in list(bad.items())[:3]) + (
            "; …" if len(bad) > 3 else ""
        )
        self._problem(
            f"{self.root / relpath}: {len(bad)} damaged {table} record(s) left out: {listed}; "
            f"{self._aside(relpath)}; `frontdesk doctor --repair` drops them from the file"
        )

    def _aside(self, relpath: str) -> str:
        """Copy a damaged file into quarantine/ (once; the writer only) and say where it is."""
        if self.readonly:
            return "start frontdesk (not read-only) to set a copy aside"
        copy = self._set_aside.get(relpath)
        if copy is None:
            source = self.root / relpath
            if not source.exists():
                return "nothing to set aside"
            try:
                copy = journal.quarantine_copy(
                    source, self.root, relpath.replace("/", "-"), by_content=True
                )
            except OSError as exc:
                return f"no copy could be set aside ({exc.strerror})"
            self._set_aside[relpath] = copy
        return f"a copy is in {copy}"

    def _check_partitions(self) -> None:
        """Report message files that are missing for a conversation that has messages, and
        message files whose conversation record is gone (one listing of messages/)."""
        try:
            names = [entry.name for entry in os.scandir(self.root / "messages")]
        except FileNotFoundError:
            names = []
        have = {int(name[:-5]) for name in names if name.endswith(".json") and name[:-5].isdigit()}
        have.update(
            int(p[len("messages/") : -len(".json")])
            for p in self._overlay
            if p.startswith("messages/")
        )
        conversations = self._conversations
        for conv in conversations.values():
            if conv.message_count and conv.id not in have:
                relpath = f"messages/{conv.id}.json"
                self._damaged.setdefault(relpath, set()).add("")
                self._problem(
                    f"{self.root / relpath} is missing: conversation {conv.id} says it has {conv.message_count} "
                    "messages; restore the file from a backup, or run `frontdesk doctor --repair` to count "
                    "what is left and forget their dedup entries (a channel may then deliver them again)"
                )
        named = {
            i
            for i in have - conversations.keys()  # already reported as a damaged record
            if str(i) in self._damaged.get(f"conversations/{i // BUCKET_SIZE:04d}.json", ())
        }
        orphans = sorted(have - conversations.keys() - named)
        if orphans:
            listed = ", ".join(f"messages/{i}.json" for i in orphans[:5]) + (
                ", …" if len(orphans) > 5 else ""
            )
            self._problem(
                f"{len(orphans)} message file(s) in {self.root} have no conversation record ({listed}): "
                "their conversations' records are damaged or lost; they are not shown"
            )

    def quarantine_files(self) -> list[Path]:
        """What has been set aside in quarantine/ (damaged journals and files), oldest first."""
        folder = self.root / QUARANTINE_DIR
        return sorted(folder.iterdir()) if folder.is_dir() else []

    def verify(self) -> list[str]:
        """Read everything (every contact bucket, every message file) and compare each
        conversation's count with its messages; returns every problem found so far."""
        self._all_contacts()
        for conv in list(self._conversations.values()):
            held = len(self._partition(conv.id))
            if conv.message_count != held and f"messages/{conv.id}.json" not in self._damaged:
                self._problem(
                    f"conversation {conv.id} says it has {conv.message_count} messages, "
                    f"{self.root / f'messages/{conv.id}.json'} holds {held}; `frontdesk doctor --repair` recounts"
                )
        return self.problems

    def repair(self) -> tuple[list[str], list[str]]:
        """Rebuild what can be rebuilt after damage: rewrite damaged files with what could be
        read, recount messages, rebuild the dedup index from the messages. Returns (what was
        done, what could not be), one line each. The writer only; copies of damaged files
        stay in quarantine/."""
        if self.readonly:
            raise StoreError("this cache was opened read-only")
        self.verify()
        self.checkpoint()  # the files then hold everything: the repair works on them alone
        done, left = self._rewrite_damaged_files()
        self._partitions.clear()
        self._xids = {}
        with self._commit_lock.hold(exclusive=False):
            self._load_index()
        with self.batch():
            for conv in self.conversations():
                held = len(self._partition(conv.id))
                if conv.message_count != held:
                    done.append(
                        f"conversation {conv.id}: message count {conv.message_count} -> {held}"
                    )
                    conv.message_count = held
                    self.put_conversation(conv)
        self.checkpoint()
        done += self._rebuild_dedup()
        orphans = self._orphan_partitions()
        left += [
            f"{self.root / f'messages/{i}.json'}: its conversation record is lost, so its "
            f"{len(self._partition(i))} message(s) are not shown; restore the conversation's file from a backup"
            for i in orphans
        ]
        return done, left

    def _rewrite_damaged_files(self) -> tuple[list[str], list[str]]:
        done: list[str] = []
        left: list[str] = []
        with self._commit_lock.hold(exclusive=True):
            for relpath, keys in sorted(self._damaged.items()):
                path = self.root / relpath
                if not path.exists():
                    left.append(
                        f"{path} is missing: what it held is lost; restore it from a backup if you have one"
                    )
                    continue
                data, _ = read_tables(path)
                data = data or {}
                for rows in data.values():
                    for key in keys - {""}:
                        rows.pop(key, None)
                atomic_write(path, encode(data))
                kept = sum(len(rows) for rows in data.values())
                done.append(
                    f"rewrote {path} with the {kept} record(s) that could be read"
                    + (
                        f" (the damaged file is in {self._set_aside[relpath]})"
                        if relpath in self._set_aside
                        else ""
                    )
                )
        self._damaged = {}
        return done, left

    def _orphan_partitions(self) -> list[int]:
        names = (
            [entry.name for entry in os.scandir(self.root / "messages")]
            if (self.root / "messages").is_dir()
            else []
        )
        have = {int(name[:-5]) for name in names if name.endswith(".json") and name[:-5].isdigit()}
        return sorted(have - self._conversations.keys())
