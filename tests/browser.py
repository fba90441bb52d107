"""Checks run in a real browser (headless Chromium driven by Playwright): axe-core, keyboard
navigation, reflow at 320 CSS px and reduced motion.

Each check returns a list of problems, one readable line or paragraph each, so a test asserts
the list is empty and its failure message says what is wrong where. The fixtures that launch
the browser are in conftest.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: Debian's chromium, which the Makefile installs when missing.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    # No look-ups of outside names: the tests talk to 127.0.0.1 only.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
]
#: axe-core, pinned by tests/js/package-lock.json and installed by the Makefile.
AXE = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
#: The WCAG 2.2 A and AA rules axe has (axe covers only part of WCAG).
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
#: Where screenshots for reviewers go (git-ignored).
SCREENSHOTS = ROOT / "screenshots"

#: Links and controls: the keyboard must reach each one, whatever its tabindex says.
CONTROLS = "a[href], area[href], button, summary, input, select, textarea"
#: Elements that can take keyboard focus, as the keyboard walk counts them.
FOCUSABLE = (
    "a[href], area[href], button, summary, input, select, textarea, iframe, "
    "[tabindex], [contenteditable]:not([contenteditable='false'])"
)


# axe-core ---------------------------------------------------------------------------------


def axe_violations(page: Any, tags: tuple[str, ...] = WCAG_TAGS) -> list[dict]:
    """Run axe-core on the page with the rules of these tags; its list of violations.

    The page's context must be made with ``bypass_csp=True``: axe is injected as a script the
    page's Content-Security-Policy would otherwise refuse.
    """
    if not AXE.exists():
        raise AssertionError(f"{AXE} is missing: run `make test` (npm ci in tests/js)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, {
                runOnly: {type: "tag", values: tags},
                resultTypes: ["violations"],
            });
            return results.violations;
        }""",
        list(tags),
    )


def format_violations(violations: list[dict]) -> list[str]:
    """One paragraph for each violated rule: the rule, its impact, and each element."""
    out = []
    for v in violations:
        lines = [f"{v['id']} ({v.get('impact')}): {v['help']} <{v['helpUrl']}>"]
        for node in v["nodes"]:
            target = " ".join(" > ".join(t) if isinstance(t, list) else t for t in node["target"])
            lines.append(f"  at {target}: {node['html'][:200]}")
            summary = (node.get("failureSummary") or "").strip()
            for line in summary.splitlines():
                lines.append(f"    {line.strip()}")
        out.append("\n".join(lines))
    return out


def axe_problems(page: Any, tags: tuple[str, ...] = WCAG_TAGS) -> list[str]:
    return format_violations(axe_violations(page, tags))


# Keyboard ---------------------------------------------------------------------------------

#: JavaScript: every element of the document in tree order, open shadow trees included (each
#: at its host, before the host's children), as a widget in a shadow root is navigated.
_DEEP = """
const deepElements = () => {
    const out = [];
    const walk = (node) => {
        for (const el of node.children) {
            out.push(el);
            if (el.shadowRoot) walk(el.shadowRoot);
            walk(el);
        }
    };
    walk(document);
    return out;
};
const nameOf = (el) => [el.tagName.toLowerCase(),
    ...(el.getAttribute("class") || "").split(/\\s+/).filter(Boolean)].join(".");
"""

_DESCRIBE = """
const describe = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + ((el.getAttribute("href") && ` href="${el.getAttribute("href")}"`) || "")
    + ` "${(el.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 60)}"`;
"""

#: After a Tab: what has focus (inside open shadow roots too), remembered in page order.
_FOCUSED = (
    "() => {"
    + _DESCRIBE
    + """
    let el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    if (!el || el === document.body || el === document.documentElement) return null;
    const steps = (window.__keyboardSteps = window.__keyboardSteps || []);
    const again = steps.includes(el);
    const repeat = steps.length > 0 && steps[steps.length - 1] === el;
    if (!again) steps.push(el);
    const style = getComputedStyle(el);
    const rect = el.getBoundingClientRect();
    const details = el.tagName === "SUMMARY" ? el.parentElement : null;
    return {
        again, repeat, what: describe(el),
        frame: el.tagName === "IFRAME",
        outlineStyle: style.outlineStyle,
        outlineWidth: parseFloat(style.outlineWidth) || 0,
        width: rect.width, height: rect.height, left: rect.left, right: rect.right,
        top: rect.top, bottom: rect.bottom,
        viewportWidth: document.documentElement.clientWidth,
        viewportHeight: window.innerHeight,
        closedSummary: details !== null && details.tagName === "DETAILS" && !details.open
            && details.querySelector(":scope > summary") === el,
        transition: style.transitionDuration,
        animations: document.getAnimations().length,
    };
}"""
)

#: At the end: what Tab should have reached, in DOM order (open shadow trees included), and
#: where in that list each element Tab did reach stands (-1: it should not have).
_EXPECTED = (
    "([focusable, controls]) => {"
    + _DEEP
    + _DESCRIBE
    + """
    const expected = deepElements().filter((el) => {
        if (!el.matches(focusable) || el.disabled) return false;
        // A link or control taken out of the Tab order is a fault, not an exception.
        if (el.tabIndex < 0 && !el.matches(controls)) return false;
        if (el.tagName === "SUMMARY" && !(el.parentElement.tagName === "DETAILS"
            && el.parentElement.querySelector(":scope > summary") === el)) return false;
        return el.checkVisibility({visibilityProperty: true});
    });
    return {
        expected: expected.map(describe),
        reached: (window.__keyboardSteps || []).map((el) => expected.indexOf(el)),
    };
}"""
)


def keyboard_walk(page: Any, open_details: bool = True, max_steps: int = 500) -> dict:
    """Press Tab from the top of a freshly loaded page until focus leaves the page or comes
    round again (at most max_steps times).

    A closed ``<details>`` is opened with Enter when its summary has focus (as a keyboard
    user would), so the links inside it are reached too. Focus moving inside a frame counts
    once, as the frame. Returns ``steps`` (each focused element, with its computed outline and
    box), ``expected`` (every rendered link, control and element with a tabindex of 0 or more,
    in DOM order, counted once the walk has ended) and ``reached`` (the place in ``expected``
    of each step, -1 for none).
    """
    page.evaluate("() => { window.__keyboardSteps = []; }")
    steps: list[dict] = []
    for _ in range(max_steps):
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUSED)
        if focused is None:
            break  # focus left the document: the end of the page
        if focused["repeat"] and focused["frame"]:
            continue  # focus moves inside a frame, which stays the active element here
        if focused["again"]:
            break  # round again
        steps.append(focused)
        if open_details and focused["closedSummary"]:
            page.keyboard.press("Enter")
    else:
        raise AssertionError(f"focus did not leave the page after {max_steps} presses of Tab")
    return {"steps": steps, **page.evaluate(_EXPECTED, [FOCUSABLE, CONTROLS])}


def keyboard_problems(walk: dict) -> list[str]:
    """Reached every focusable element, in DOM order, each with a visible focus outline."""
    problems = []
    reached, expected = walk["reached"], walk["expected"]
    if reached != list(range(len(expected))):
        missed = [what for i, what in enumerate(expected) if i not in reached]
        extra = [s["what"] for s, i in zip(walk["steps"], reached, strict=True) if i < 0]
        problems.append(
            "Tab order is not every focusable element in DOM order.\n"
            f"  reached:  {[s['what'] for s in walk['steps']]}\n"
            f"  expected: {expected}\n"
            f"  never reached: {missed}\n  not expected: {extra}"
        )
    for s in walk["steps"]:
        # A frame's own document draws the focus of what is focused inside it.
        if s["frame"]:
            continue
        if s["outlineStyle"] == "none" or s["outlineWidth"] <= 0:
            problems.append(
                f"{s['what']}: no visible focus indicator "
                f"(outline-style {s['outlineStyle']}, width {s['outlineWidth']}px)"
            )
        if s["width"] <= 0 or s["height"] <= 0:
            problems.append(f"{s['what']}: focused but has no size on screen")
        elif s["right"] <= 0 or s["left"] >= s["viewportWidth"]:
            problems.append(f"{s['what']}: focused but off screen (left {s['left']:.0f}px)")
        elif s["bottom"] <= 0 or s["top"] >= s["viewportHeight"]:
            problems.append(f"{s['what']}: focused but not scrolled into view")
    return problems


# Reflow -----------------------------------------------------------------------------------

_OVERFLOW = (
    "() => {"
    + _DEEP
    + """
    const root = document.documentElement;
    const width = root.clientWidth;
    const wider = [];
    for (const el of deepElements()) {
        const rect = el.getBoundingClientRect();
        if (rect.width > 0 && (rect.right > width + 0.5 || rect.left < -0.5)
            && el.checkVisibility() && !el.closest(".skip, .visually-hidden")) {
            wider.push(nameOf(el)
                + ` (${Math.round(rect.left)}..${Math.round(rect.right)}px): `
                + el.outerHTML.slice(0, 120));
        }
    }
    return {scrollWidth: root.scrollWidth, clientWidth: width, wider: wider.slice(0, 5)};
}"""
)


def overflow_problems(page: Any) -> list[str]:
    """No horizontal scrolling: the page is no wider than the viewport (WCAG 1.4.10)."""
    found = page.evaluate(_OVERFLOW)
    if found["scrollWidth"] <= found["clientWidth"]:
        return []
    return [
        f"scrolls sideways: scrollWidth {found['scrollWidth']}px > clientWidth "
        f"{found['clientWidth']}px; elements past the edge:\n  " + "\n  ".join(found["wider"])
    ]


def open_all_details(page: Any) -> None:
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")


# Motion -----------------------------------------------------------------------------------

_MOTION = (
    "() => {"
    + _DEEP
    + """
    const moving = [];
    const zero = (value) => value.split(",").every((d) => parseFloat(d) === 0);
    for (const el of deepElements()) {
        const style = getComputedStyle(el);
        // No computed style: outside the flat tree (a shadow host's unslotted children).
        if (style.transitionDuration === "") continue;
        if (!zero(style.transitionDuration) || style.animationName !== "none") {
            moving.push(nameOf(el)
                + `: transition-duration ${style.transitionDuration},`
                + ` animation-name ${style.animationName}`);
        }
    }
    return {
        animations: document.getAnimations().map((a) => String(a.animationName || a.id || a)),
        moving: moving.slice(0, 5),
        scrollBehavior: getComputedStyle(document.documentElement).scrollBehavior,
    };
}"""
)


def motion_problems(page: Any) -> list[str]:
    """Nothing moves: no running animations, no transitions, no smooth scrolling."""
    found = page.evaluate(_MOTION)
    problems = []
    if found["animations"]:
        problems.append(f"running animations: {found['animations']}")
    problems += [f"moves: {m}" for m in found["moving"]]
    if found["scrollBehavior"] == "smooth":
        problems.append("html has scroll-behavior: smooth")
    return problems


def focus_motion_problems(walk: dict) -> list[str]:
    """No element animates or transitions when it takes focus."""
    problems = []
    for s in walk["steps"]:
        if any(float(d.strip().rstrip("ms") or 0) for d in s["transition"].split(",")):
            problems.append(f"{s['what']}: transition-duration {s['transition']} when focused")
        if s["animations"]:
            problems.append(f"{s['what']}: {s['animations']} animations running when focused")
    return problems
