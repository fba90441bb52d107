"""The "what changed" Atom feed (RFC 4287): one entry per real change, each with its own id.

Feed readers do not show an edited item again, so each change (added, changed which fields,
removed) is a new entry here, and it says what each changed field now holds, so a reader
need not click through to find out.

The values come from what is published now, not from the change log, which keeps only the
names of the fields: a field shows its value in its newest change only (an older change of
it says it changed again since), and the changes of a group no longer listed show none of
its details. Nothing unpublished is kept in, or shown from, the history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from markupsafe import escape

from publisher.directory.schedule_words import day_words, describe_series
from publisher.model.directory import FLAGS, Contact, Group, Meetings, Series
from publisher.model.history import Change
from publisher.render.common import Site
from publisher.render.ical import place_text
from publisher.render.xml_feeds import entry_links, generator
from publisher.urls import CHANGES, GROUP, HOME

#: Plain words for the fields a change names.
FIELD_WORDS = {
    "name": "name",
    "slug": "web address",
    "category": "category",
    "description": "description",
    "links": "links",
    "place": "place",
    "contact": "contact details",
    "flags": "notes (closed group, anonymous submissions)",
    "meetings": "meetings",
}
#: The labels of the values shown, where they differ from FIELD_WORDS.
LABELS = {"flags": "notes"}


def summary(change: Change, category_names: dict[str, str]) -> tuple[str, str]:
    """A title and one plain sentence for a change."""
    where = " and ".join(category_names.get(c, c) for c in change.categories)
    if change.kind == "added":
        verb = "was added back to" if "restored" in change.fields else "was added to"
        return f"Added: {change.name}", f"{change.name} {verb} {where}."
    if change.kind == "removed":
        return f"Removed: {change.name}", f"{change.name} was removed from {where}."
    fields = ", ".join(FIELD_WORDS.get(f, f) for f in change.fields)
    return f"Changed: {change.name}", f"Changed in {change.name}: {fields}."


def _contact(contact: Contact | None) -> list[str]:
    """What the group's page shows of its contact details, on one line (the wording as
    published alone is not shown there, so not here either)."""
    if contact is None:
        return []
    parts = [
        contact.name,
        contact.email_as_published and f"email: {contact.email_as_published}",
        contact.twitter and f"Twitter: {contact.twitter}",
    ]
    shown = "; ".join(p for p in parts if p)
    return [shown or "none shown on the group’s page"]


def _series(series: Series) -> str:
    text = describe_series(series)
    for cancelled in series.cancelled:
        text += f"; cancelled on {day_words(cancelled.date)}"
        text += f" ({cancelled.note})" if cancelled.note else ""
    for moved in series.moved:
        text += f"; moved from {day_words(moved.date)} to {day_words(moved.to)}"
        text += f", {moved.time.start:%H:%M} to {moved.time.end:%H:%M}" if moved.time else ""
        text += f" ({moved.note})" if moved.note else ""
    return f"{series.title}: {text}" if series.title else text


def _meetings(meetings: Meetings | None) -> list[str]:
    """The meetings, a line each for what the group's page lists."""
    if meetings is None:
        return []
    lines = []
    if meetings.frequency_as_published:
        lines.append(f"Meets {meetings.frequency_as_published}, as the source page puts it")
    lines += [_series(s) for s in meetings.series]
    for one in meetings.one_off:
        when = f"{day_words(one.date)}, {one.time.start:%H:%M} to {one.time.end:%H:%M}"
        lines.append(f"{one.title}: {when}" if one.title else when)
    if not meetings.scheduled:
        lines.append("No dates or times have been published yet")
    if meetings.time_zone:
        lines.append(f"Time zone: {meetings.time_zone}")
    if place := place_text(meetings.place):
        lines.append(f"Place: {place}")
    if meetings.how_to_join:
        lines.append(f"How to join: {meetings.how_to_join}")
    if meetings.online:
        online = " ".join(p for p in (meetings.online.url, meetings.online.details) if p)
        lines.append(f"Online: {online}")
    return lines


def _place(group: Group, *_: object) -> list[str]:
    place = place_text(group.place)
    return [place] if place else []


#: Each field's published value now, as lines of plain text (none: the value was removed).
VALUES: dict[str, Callable[[Group, Mapping[str, str], Site], list[str]]] = {
    "name": lambda g, *_: [g.name],
    "slug": lambda g, _, site: [site.url(GROUP(g.slug))],
    "category": lambda g, names, _: [names.get(g.category, g.category)],
    "description": lambda g, *_: [g.description] if g.description else [],
    "links": lambda g, *_: [f"{link.label}: {link.url}" for link in g.links],
    "place": _place,
    "contact": lambda g, *_: _contact(g.contact),
    "flags": lambda g, *_: [FLAGS[f] for f in g.flags],
    "meetings": lambda g, *_: _meetings(g.meetings),
}


def _field(label: str, lines: list[str]) -> str:
    if not lines:
        return f"<li>{escape(label)}: removed.</li>"
    if len(lines) == 1:
        return f"<li>{escape(label)}: {escape(lines[0])}</li>"
    inner = "".join(f"<li>{escape(line)}</li>" for line in lines)
    return f"<li>{escape(label)}:<ul>{inner}</ul></li>"


def content(
    change: Change,
    sentence: str,
    group: Group | None,
    superseded: set[str],
    names: Mapping[str, str],
    site: Site,
) -> str:
    """The entry's HTML: the sentence, then each changed field with its value now, every
    text escaped. ``group`` is the group as published now (None: no longer listed);
    ``superseded`` the fields a newer change of it changed again."""
    parts = [f"<p>{escape(sentence)}</p>"]
    fields = [f for f in change.fields if f in VALUES]
    if not fields:
        return parts[0]
    if group is None:
        parts.append(
            f"<p>{escape(change.name)} is no longer listed, so what changed is not shown.</p>"
        )
        return "".join(parts)
    items = []
    for f in fields:
        label = LABELS.get(f, FIELD_WORDS[f]).capitalize()
        if f in superseded:
            items.append(
                f"<li>{escape(label)}: changed again since then; "
                "the group’s page shows it as it is now.</li>"
            )
        else:
            items.append(_field(label, VALUES[f](group, names, site)))
    parts.append("<ul>" + "".join(items) + "</ul>")
    return "".join(parts)


def render(
    changes: tuple[Change, ...],
    category_names: dict[str, str],
    updated: datetime,
    site: Site,
    current: Mapping[int, Group],
) -> bytes:
    """Newest change first; ``changes`` is already limited to the feed's size. ``current``
    holds the groups listed now, by history entry, for those the changes name."""
    fg = generator(
        feed_id=f"{site.tag_base}feeds/changes",
        title=f"What changed – {site.title}",
        subtitle=f"Every group added to, changed in or removed from {site.title}.",
        self_url=site.url(CHANGES()),
        html_url=site.url(HOME()),
        updated=updated,
        site=site,
    )
    newer: dict[int, set[str]] = {}  # fields changed by a newer change, by entry
    for change in changes:
        title, sentence = summary(change, category_names)
        seen = newer.setdefault(change.entry, set())
        html = content(change, sentence, current.get(change.entry), seen, category_names, site)
        seen.update(change.fields)
        fe = fg.add_entry(order="append")
        fe.id(f"{site.tag_base}changes/{change.id}")
        fe.title(title)
        fe.content(html, type="html")
        page = site.url(GROUP(change.slug))
        entry_links(fe, [{"href": page, "rel": "alternate", "type": "text/html"}])
        fe.published(change.at)
        fe.updated(change.at)
    return fg.atom_str(pretty=True)
