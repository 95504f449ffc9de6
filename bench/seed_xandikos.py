"""Store many objects in a Xandikos calendar in one git commit.

Run with the peers' Python (it needs the dulwich that Xandikos uses):
``python seed_xandikos.py <calendar repository>``, the objects on standard
input as JSON ``{"name": "iCalendar text", ...}``.  It does what Xandikos
does for each PUT (write the file, add the blob, update the index), but
commits once for all of them, as an import would; the running server sees
the new index and tree.
"""

import json
import os
import sys

from dulwich.index import index_entry_from_stat, locked_index
from dulwich.objects import Blob
from dulwich.repo import Repo


def main() -> None:
    repo = Repo(sys.argv[1])
    objects = json.load(sys.stdin)
    with locked_index(repo.index_path()) as index:
        for name, text in objects.items():
            data = text.encode("utf-8")
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
