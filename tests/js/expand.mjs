// Expand an iCalendar file the way Thunderbird does, with Mozilla's ical.js.
//
//   node expand.mjs FILE START END [--offset-at INSTANT]...
//
// START, END and each INSTANT are ISO 8601 UTC times (2026-11-25T12:00:00Z). Prints JSON:
//
//   {"zones": ["Europe/London"],                       the VTIMEZONEs registered from FILE
//    "offsets": {"Europe/London": {INSTANT: seconds}}, UTC offset each zone gives (--offset-at)
//    "occurrences": [{uid, recurrenceId, start, end, localStart, tzid, summary, status}]}
//
// Every occurrence that overlaps [START, END) is listed, in order of start: recurrenceId,
// start and end in UTC (null recurrenceId for an event that does not recur), localStart the
// wall time in the event's TZID. The calendar's VTIMEZONEs are registered with
// ICAL.TimezoneService, as Thunderbird does, so times are read with the file's own rules;
// ical.js has no zones of its own. Exits non-zero, with a message on stderr, when a date-time
// names a TZID the file does not define (ical.js would silently read it as floating), or on
// a RECURRENCE-ID without its master event.

import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const USAGE = "usage: node expand.mjs FILE START END [--offset-at INSTANT]...";

function fail(message) {
  process.stderr.write(`expand.mjs: ${message}\n`);
  process.exit(2);
}

function utcTime(text) {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(text)) {
    fail(`${JSON.stringify(text)} is not an ISO UTC time like 2026-11-25T12:00:00Z\n${USAGE}`);
  }
  return ICAL.Time.fromDateTimeString(text);
}

function iso(time) {
  // The instant in UTC, as 2027-03-30T09:30:00Z.
  const text = time.convertToZone(ICAL.Timezone.utcTimezone).toString();
  return text.endsWith("Z") ? text : `${text}Z`;
}

const args = process.argv.slice(2);
const positional = [];
const offsetAt = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--offset-at") {
    offsetAt.push(args[++i] ?? fail(USAGE));
  } else {
    positional.push(args[i]);
  }
}
if (positional.length !== 3) fail(USAGE);
const [file, startText, endText] = positional;
const windowStart = utcTime(startText);
const windowEnd = utcTime(endText);

const vcalendar = new ICAL.Component(ICAL.parse(readFileSync(file, "utf8")));
if (vcalendar.name !== "vcalendar") fail(`${file} is not a VCALENDAR`);

// As Thunderbird does: the file's VTIMEZONEs become the zones its TZIDs name.
const zones = [];
for (const vtimezone of vcalendar.getAllSubcomponents("vtimezone")) {
  const zone = new ICAL.Timezone(vtimezone);
  ICAL.TimezoneService.register(zone);
  zones.push(zone.tzid);
}

function zoneOf(property) {
  // The registered zone of a DATE-TIME property; a TZID the file does not define is an error.
  const tzid = property.getParameter("tzid");
  if (tzid === undefined) return null;
  const zone = ICAL.TimezoneService.get(tzid);
  if (!zone || !zones.includes(tzid)) fail(`TZID ${tzid} has no VTIMEZONE in ${file}`);
  return zone;
}

function checkZones(component) {
  for (const name of ["dtstart", "dtend", "recurrence-id", "exdate", "rdate"]) {
    for (const property of component.getAllProperties(name)) {
      const zone = zoneOf(property);
      for (const value of property.getValues()) {
        if (zone && value.zone.tzid !== zone.tzid) {
          fail(`${name} ${value} of ${component.getFirstPropertyValue("uid")} is not in ${zone.tzid}`);
        }
      }
    }
  }
}

// Masters and their exceptions, related by UID (not merely by sharing the file).
const masters = new Map();
const exceptions = [];
for (const vevent of vcalendar.getAllSubcomponents("vevent")) {
  checkZones(vevent);
  const uid = vevent.getFirstPropertyValue("uid");
  if (vevent.hasProperty("recurrence-id")) exceptions.push(vevent);
  else if (masters.has(uid)) fail(`two master events with UID ${uid}`);
  else masters.set(uid, vevent);
}
const related = new Map([...masters.keys()].map((uid) => [uid, []]));
for (const vevent of exceptions) {
  const uid = vevent.getFirstPropertyValue("uid");
  if (!related.has(uid)) fail(`RECURRENCE-ID of ${uid} without its master event`);
  related.get(uid).push(vevent);
}

const occurrences = [];
function add(uid, recurrenceId, item, start, end) {
  if (start.compare(windowEnd) >= 0 || end.compare(windowStart) <= 0) return;
  occurrences.push({
    uid,
    recurrenceId: recurrenceId === null ? null : iso(recurrenceId),
    start: iso(start),
    end: iso(end),
    localStart: start.toString(),
    tzid: start.zone.tzid,
    summary: item.summary,
    status: item.component.getFirstPropertyValue("status"),
  });
}

// A moved meeting can come from before the window or move out of it: look a year wider.
const MARGIN = new ICAL.Duration({ days: 366 });
const lastId = windowEnd.clone();
lastId.addDuration(MARGIN);
for (const [uid, vevent] of masters) {
  const event = new ICAL.Event(vevent, { exceptions: related.get(uid), strictExceptions: true });
  if (!event.isRecurring()) {
    add(uid, null, event, event.startDate, event.endDate);
    continue;
  }
  const iterator = event.iterator();
  for (let n = 0, next; (next = iterator.next()); n++) {
    if (n > 100000) fail(`${uid} repeats more than 100000 times before the window ends`);
    if (next.compare(lastId) > 0) break;
    const details = event.getOccurrenceDetails(next);
    add(uid, next, details.item, details.startDate, details.endDate);
  }
}
occurrences.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.uid < b.uid ? -1 : 1));

const offsets = {};
for (const tzid of zones) {
  offsets[tzid] = {};
  for (const text of offsetAt) {
    offsets[tzid][text] = utcTime(text).convertToZone(ICAL.TimezoneService.get(tzid)).utcOffset();
  }
}

process.stdout.write(JSON.stringify({ zones, offsets, occurrences }, null, 1) + "\n");
