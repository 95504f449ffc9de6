"""Store many objects in a Radicale calendar through Radicale's own storage API.

Run with the peers' Python: ``python seed_radicale.py <config file>
<collection path>`` (the collection path as in the URL, e.g.
``/bench/calendar/``), the objects on standard input as JSON
``{"name": "iCalendar text", ...}``.  It can run while the server runs:
it takes Radicale's storage lock for writing, as a PUT does.

Each object goes the way of a PUT's body: parsed, checked and prepared by
``radicale.app.put.prepare`` and stored by the collection's ``upload``,
which writes the object's file (Radicale's own serialisation, as a PUT
stores it), its item cache entry and its sync history entry.  What is left
out is what a PUT only checks or does for every request: the UID
uniqueness scan over the whole collection (the generator's UIDs are
unique; this scan is what makes Radicale's PUT slower as a collection
grows), the clean-up of expired history of deleted items (done once at the
end; there are none), and an fsync per file (one ``sync`` at the end).
"""

import json
import os
import posixpath
import sys

from radicale import config, storage
from radicale.app.put import prepare
from radicale.item import read_components


def main() -> None:
    config_path, collection_path = sys.argv[1], sys.argv[2]
    configuration = config.load([(config_path, False)])
    configuration.update({"storage": {"_filesystem_fsync": "False"}}, "bench seeding",
                         privileged=True)
    store = storage.load(configuration)
    objects = json.load(sys.stdin)
    with store.acquire_lock("w"):
        collection = next(iter(store.discover(collection_path)), None)
        if not isinstance(collection, storage.BaseCollection) or collection.tag != "VCALENDAR":
            sys.exit(f"no calendar collection at {collection_path}")
        clean_history = collection._clean_history
        collection._clean_history = lambda: None  # once, below
        for name, text in objects.items():
            path = posixpath.join(collection_path, name)
            items, _tag, _whole, _props, error = prepare(
                read_components(text), path, "text/calendar", False, True,
                store._max_resource_size, store._max_vevent_rrule_occurrence,
                tag=collection.tag, write_whole_collection=False)
            if error:
                raise error[1]
            item, = items
            collection.upload(name, item)
        clean_history()
    os.sync()
    print(len(objects))


if __name__ == "__main__":
    main()
