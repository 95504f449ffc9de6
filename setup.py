"""The package list: caldav_sched's packages plus the top-level migrations/.

The numbered SQL per backend lives in migrations/ at the top of the
checkout and ships inside the installed package as caldav_sched.migrations,
both for ``pip install .`` and ``pip install -e .``.  Everything else is in
pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["caldav_sched*"]) + ["caldav_sched.migrations"],
    package_dir={"caldav_sched.migrations": "migrations"},
)
