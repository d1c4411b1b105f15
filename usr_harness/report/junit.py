"""The run's verdict line in junit.xml, so a CI page that reads only JUnit sees it first too.

pytest writes junit.xml before the report exists; this stamps each `<testsuite>` with
`usr-harness.outcome`, `usr-harness.headline` and `usr-harness.blind_spots` properties
(standard JUnit, read by CI viewers), replacing any an earlier stamp or a shard left.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

PREFIX = "usr-harness."


def stamp_verdict(path: Path, outcome: str, headline: str, blind_spots: int) -> bool:
    """Stamp every suite of the junit.xml at `path`; False when there is no file or no suite to stamp."""
    if not path.is_file():
        return False
    tree = ElementTree.parse(path)
    root = tree.getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    values = {"outcome": outcome, "headline": headline, "blind_spots": str(blind_spots)}
    for suite in suites:
        properties = suite.find("properties")
        if properties is None:
            properties = ElementTree.Element("properties")
            suite.insert(0, properties)
        for old in [p for p in properties if p.get("name", "").startswith(PREFIX)]:
            properties.remove(old)
        for index, (name, value) in enumerate(values.items()):
            properties.insert(index, ElementTree.Element("property", {"name": PREFIX + name, "value": value}))
    if suites:
        tree.write(path, encoding="utf-8", xml_declaration=True)
    return bool(suites)
