"""The ``textures`` kind: tileable PBR material sets, exemplar synthesis, albedo → PBR maps and
looping flipbooks.

Serving modules (numpy + ONNX Runtime + Pillow): :mod:`.procedural`, :mod:`.maps`, :mod:`.images`,
:mod:`.exemplar`, :mod:`.generator`. Training modules (torch): :mod:`.nets`, :mod:`.train`,
:mod:`.export`.
"""
