"""Partial retrieval of calendar data (RFC 4791 9.6.1-9.6.4).

A ``CALDAV:calendar-data`` element of a REPORT may name the components and
properties it wants (``comp``, ``allcomp``, ``prop``, ``allprop``, and
``novalue`` for a property whose value is not wanted).  ``CompSelection``
is that request as plain data; ``select`` applies it to a calendar.
"""

from __future__ import annotations

from dataclasses import dataclass

import icalendar
from icalendar.cal import Component


@dataclass(frozen=True)
class PropSelection:
    """One ``CALDAV:prop``: a property by name, with or without its value."""

    name: str
    novalue: bool = False


@dataclass(frozen=True)
class CompSelection:
    """One ``CALDAV:comp``: which of a component's properties and subcomponents to keep.

    RFC 4791 9.6.1: ``(allprop | prop*), (allcomp | comp*)``; no ``prop``
    keeps no property, no ``comp`` keeps no subcomponent.
    """

    name: str
    allprop: bool = False
    props: tuple[PropSelection, ...] = ()
    allcomp: bool = False
    comps: tuple[CompSelection, ...] = ()


def _empty_like(value: object) -> icalendar.vText:
    empty = icalendar.vText("")
    params = getattr(value, "params", None)
    if params:
        empty.params = icalendar.Parameters(params)
    return empty


def _selected(component: Component, selection: CompSelection) -> Component:
    kept = type(component)()
    wanted = {p.name.upper(): p for p in selection.props}
    for name, value in component.items():
        if selection.allprop:
            kept[name] = value
            continue
        prop = wanted.get(name.upper())
        if prop is None:
            continue
        if prop.novalue:
            values = value if isinstance(value, list) else [value]
            emptied = [_empty_like(v) for v in values]
            kept[name] = emptied if isinstance(value, list) else emptied[0]
        else:
            kept[name] = value
    by_name = {c.name.upper(): c for c in selection.comps}
    for child in component.subcomponents:
        if selection.allcomp:
            kept.add_component(child)
            continue
        child_selection = by_name.get(child.name.upper())
        if child_selection is not None:
            kept.add_component(_selected(child, child_selection))
    return kept


def select(cal: icalendar.Calendar, selection: CompSelection) -> icalendar.Calendar:
    """The parts of *cal* that *selection* (a VCALENDAR ``comp``) asks for."""
    if selection.name.upper() != cal.name:
        return icalendar.Calendar()
    result = _selected(cal, selection)
    assert isinstance(result, icalendar.Calendar)
    return result
