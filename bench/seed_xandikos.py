"""Store many objects in a Xandikos calendar in one git commit.

Run with the peers' Python (it uses Xandikos' classes and the dulwich that
Xandikos uses): ``python seed_xandikos.py <calendar repository>``, the
objects on standard input as JSON ``{"name": "iCalendar text", ...}``.

Each body is taken as a PUT's body is: checked by Xandikos'
``ICalendarFile.validate`` and stored as its ``normalized()`` form, so the
file, the blob and thereby the ETag are the ones a PUT would give.  Then it
does what Xandikos' tree store does for each PUT (write the file, add the
blob, update the index), but commits once for all of them, as an import
would.  The running server re-reads the index when the file changes; what
it keeps in memory about its objects (the UID map, the filter index) it
fills in on its next PUT and query, which the harness sends untimed.
"""

import json
import os
import sys

from dulwich.index import index_entry_from_stat, locked_index
from dulwich.objects import Blob
from dulwich.repo import Repo
from xandikos.icalendar import ICalendarFile
from xandikos.store.git import TreeGitStore


def main() -> None:
    repo = Repo(sys.argv[1])
    objects = json.load(sys.stdin)
    with locked_index(repo.index_path()) as index:
        for name, text in objects.items():
            TreeGitStore.check_name(name)
            fi = ICalendarFile([text.encode("utf-8")], "text/calendar")
            fi.validate()
            data = b"".join(fi.normalized())
            path = os.path.join(repo.path, name)
            with open(path, "wb") as f:
                f.write(data)
            blob = Blob.from_string(data)
            repo.object_store.add_object(blob)
            index[name.encode("utf-8")] = index_entry_from_stat(os.lstat(path), blob.id)
        tree = index.commit(repo.object_store)
        repo.get_worktree().commit(message=b"bench: seed objects", tree=tree)
    print(len(objects))


if __name__ == "__main__":
    main()
