"""Behaviour trees for an archetype and its parameters: BehaviorTree.CPP v4 XML and JSON.

The tree states what the archetype is meant to do (the same states and thresholds as the scripted
FSM in scripted.py, numbers from :func:`scripted.thresholds`), so a designer can read it, open it
in Groot2 and edit it, and a game can run it with BehaviorTree.CPP by registering the custom nodes
declared in ``<TreeNodesModel>`` (conditions over the perception fields of the observation layout,
and a few move actions). Blackboard keys in ``{braces}`` carry positions between nodes.

:func:`tree` builds a plain nested dict (``{"type", "name", "ports", "children"}``);
:func:`to_xml` and :func:`to_json` write it. Both are deterministic for the same inputs.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from .arena import ARCHETYPES, PARAMS
from .scripted import thresholds

# Custom nodes: ID -> (kind, {port: (direction, type, description)}, description)
NODES: dict[str, tuple[str, dict[str, tuple[str, str, str]], str]] = {
    "PlayerVisible": ("Condition", {"player_pos": ("output", "Position2D", "player position when visible")},
                      "the player is within view range with clear line of sight"),
    "PlayerWithin": ("Condition", {"distance": ("input", "double", "metres")},
                     "the visible player is closer than distance"),
    "InsideLeash": ("Condition", {"target": ("input", "Position2D", "position to test"),
                                  "anchor": ("input", "Position2D", "guard post"),
                                  "radius": ("input", "double", "metres")},
                    "target lies within radius of anchor"),
    "RecentlySeen": ("Condition", {"max_age": ("input", "double", "seconds"),
                                   "last_seen": ("output", "Position2D", "last-seen player position")},
                     "the agent remembers the player's position from less than max_age seconds ago"),
    "HealthBelow": ("Condition", {"threshold": ("input", "double", "health in [0, 1]")},
                    "own health is below threshold"),
    "InCover": ("Condition", {"threat": ("input", "Position2D", "where the threat is believed to be")},
                "the agent's cell is hidden from the threat"),
    "MoveTo": ("Action", {"target": ("input", "Position2D", "destination"),
                          "tolerance": ("input", "double", "metres")},
               "follow the navigation path to target; RUNNING until within tolerance"),
    "KeepDistance": ("Action", {"target": ("input", "Position2D", "whom to keep at a distance"),
                                "distance": ("input", "double", "metres"), "band": ("input", "double", "metres")},
                     "approach when farther than distance+band, back off when nearer than distance-band, "
                     "else hold"),
    "MoveAway": ("Action", {"threat": ("input", "Position2D", "what to get away from"),
                            "radius": ("input", "double", "metres searched for the farthest cell")},
                 "go to the reachable cell within radius farthest by path from the threat"),
    "TakeCover": ("Action", {"threat": ("input", "Position2D", "what to hide from")},
                  "go to the hidden cell reached well before the threat, farthest from it"),
    "NextWaypoint": ("Action", {"waypoint": ("output", "Position2D", "the next patrol waypoint or roam goal")},
                     "advance the designer-assigned goal (patrol loop or roam target)"),
    "Hold": ("Action", {}, "stand still for one tick"),
}


def _n(type_: str, name: str | None = None, children: list | None = None, **ports) -> dict:
    d: dict = {"type": type_}
    if name:
        d["name"] = name
    if ports:
        d["ports"] = {k: (f"{v:.3g}" if isinstance(v, float) else str(v)) for k, v in ports.items()}
    if children is not None:
        d["children"] = children
    return d


def _roam() -> dict:
    return _n("Sequence", "roam", [_n("NextWaypoint", waypoint="{goal}"), _n("MoveTo", target="{goal}", tolerance=1.0)])


def tree(archetype: str, aggression: float = 0.5, caution: float = 0.5) -> dict:
    """The archetype's behaviour tree as a nested dict (root: one BehaviorTree)."""
    if archetype not in ARCHETYPES:
        raise ValueError(f"archetype {archetype!r} is not one of {', '.join(ARCHETYPES)}")
    for name, v in zip(PARAMS, (aggression, caution)):
        if not 0.0 <= float(v) <= 1.0:
            raise ValueError(f"{name}={v!r} is outside the allowed range [0, 1]")
    th = thresholds(archetype, aggression, caution)
    if archetype == "guard":
        body = [
            _n("ReactiveSequence", "chase", [_n("PlayerVisible", player_pos="{player}"),
                                             _n("InsideLeash", target="{player}", anchor="{post}", radius=th["leash_m"]),
                                             _n("MoveTo", target="{player}", tolerance=0.5)]),
            _n("ReactiveSequence", "investigate", [_n("RecentlySeen", max_age=th["memory_s"], last_seen="{last_seen}"),
                                                   _n("InsideLeash", target="{last_seen}", anchor="{post}",
                                                      radius=th["leash_m"]),
                                                   _n("MoveTo", target="{last_seen}", tolerance=1.0)]),
            _n("Sequence", "patrol", [_n("NextWaypoint", waypoint="{waypoint}"),
                                      _n("MoveTo", target="{waypoint}", tolerance=1.0)]),
        ]
    elif archetype == "chase":
        body = [
            _n("ReactiveSequence", "retreat", [_n("HealthBelow", threshold=th["retreat_health"]),
                                               _n("RecentlySeen", max_age=5.0, last_seen="{last_seen}"),
                                               _n("MoveAway", threat="{last_seen}", radius=6.0)]),
            _n("ReactiveSequence", "pursue", [_n("PlayerVisible", player_pos="{player}"),
                                              _n("KeepDistance", target="{player}", distance=th["standoff_m"],
                                                 band=th["band_m"])]),
            _n("ReactiveSequence", "investigate", [_n("RecentlySeen", max_age=th["memory_s"], last_seen="{last_seen}"),
                                                   _n("MoveTo", target="{last_seen}", tolerance=1.0)]),
            _roam(),
        ]
    elif archetype == "flee":
        escape = (_n("Fallback", "hide", [_n("InCover", threat="{last_seen}"), _n("TakeCover", threat="{last_seen}")])
                  if th["hide"] else _n("MoveAway", threat="{last_seen}", radius=th["run_radius_m"]))
        body = [
            _n("ReactiveSequence", "threatened", [
                _n("Fallback", "threat_near", [
                    _n("Sequence", "seen_near", [_n("PlayerVisible", player_pos="{last_seen}"),
                                                 _n("PlayerWithin", distance=th["threat_m"])]),
                    _n("RecentlySeen", max_age=th["memory_s"], last_seen="{last_seen}"),
                ]),
                escape,
            ]),
            _roam(),
        ]
    elif archetype == "search":
        body = [
            _n("ReactiveSequence", "approach", [_n("PlayerVisible", player_pos="{player}"),
                                                _n("MoveTo", target="{player}", tolerance=0.5)]),
            _n("ReactiveSequence", "investigate", [_n("RecentlySeen", max_age=th["memory_s"], last_seen="{last_seen}"),
                                                   _n("MoveTo", target="{last_seen}", tolerance=1.0)]),
            _roam(),
        ]
    else:  # wander
        body = [
            _n("ReactiveSequence", "avoid", [_n("PlayerVisible", player_pos="{player}"),
                                             _n("PlayerWithin", distance=th["avoid_m"]),
                                             _n("MoveAway", threat="{player}", radius=4.0)]),
            _roam(),
        ]
    tree_id = archetype.capitalize()
    return {"id": tree_id, "archetype": archetype, "params": {"aggression": float(aggression), "caution": float(caution)},
            "thresholds": {k: round(float(v), 4) for k, v in th.items()},
            "root": _n("ReactiveFallback", archetype, body)}


def _used(node: dict, out: set) -> set:
    if node["type"] in NODES:
        out.add(node["type"])
    for c in node.get("children", []):
        _used(c, out)
    return out


def _xml_node(parent: ET.Element, node: dict) -> None:
    el = ET.SubElement(parent, node["type"])
    if node.get("name"):
        el.set("name", node["name"])
    for k, v in node.get("ports", {}).items():
        el.set(k, v)
    for c in node.get("children", []):
        _xml_node(el, c)


def to_xml(t: dict) -> str:
    """BehaviorTree.CPP v4 XML (Groot2-compatible): the tree plus a TreeNodesModel of its custom nodes."""
    root = ET.Element("root", {"BTCPP_format": "4", "main_tree_to_execute": t["id"]})
    bt = ET.SubElement(root, "BehaviorTree", {"ID": t["id"]})
    bt.append(ET.Comment(f" archetype {t['archetype']}, "
                         + ", ".join(f"{k}={v:g}" for k, v in t["params"].items()) + "; "
                         + ", ".join(f"{k}={v:g}" for k, v in t["thresholds"].items()) + " "))
    _xml_node(bt, t["root"])
    model = ET.SubElement(root, "TreeNodesModel")
    for node_id in sorted(_used(t["root"], set())):
        kind, ports, doc = NODES[node_id]
        el = ET.SubElement(model, kind, {"ID": node_id})
        for pname, (direction, ptype, pdoc) in ports.items():
            p = ET.SubElement(el, f"{direction}_port", {"name": pname, "type": ptype})
            p.text = pdoc
        ET.SubElement(el, "MetadataFields").append(ET.Element("Metadata", {"description": doc}))
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="unicode", xml_declaration=False) + "\n"


def to_json(t: dict) -> str:
    """The same tree as JSON (the nested dict, plus the node models), sorted keys, 2-space indent."""
    used = sorted(_used(t["root"], set()))
    doc = dict(t)
    doc["nodes"] = {n: {"kind": NODES[n][0], "description": NODES[n][2],
                        "ports": {p: {"direction": d, "type": ty, "description": ds}
                                  for p, (d, ty, ds) in NODES[n][1].items()}} for n in used}
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"
