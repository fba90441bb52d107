"""The "what changed" Atom feed (RFC 4287): one entry per real change, each with its own id.

Feed readers do not show an edited item again, so each change (added, changed which fields,
removed) is a new entry here.
"""

from __future__ import annotations

from datetime import datetime

from markupsafe import escape

from publisher.render.common import Site, group_path
from publisher.render.xml_feeds import entry_links, generator
from publisher.store.history import Change

PATH = "/feeds/changes.atom"

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


def render(
    changes: tuple[Change, ...], category_names: dict[str, str], updated: datetime, site: Site
) -> bytes:
    """Newest change first; ``changes`` is already limited to the feed's size."""
    fg = generator(
        feed_id=f"{site.tag_base}feeds/changes",
        title=f"What changed – {site.title}",
        subtitle=f"Every group added to, changed in or removed from {site.title}.",
        self_url=site.url(PATH),
        html_url=site.url("/"),
        updated=updated,
        site=site,
    )
    for change in changes:
        title, sentence = summary(change, category_names)
        fe = fg.add_entry(order="append")
        fe.id(f"{site.tag_base}changes/{change.id}")
        fe.title(title)
        fe.content(f"<p>{escape(sentence)}</p>", type="html")
        page = site.url(group_path(change.slug))
        entry_links(fe, [{"href": page, "rel": "alternate", "type": "text/html"}])
        fe.published(change.at)
        fe.updated(change.at)
    return fg.atom_str(pretty=True)
