from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ParameterType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PARAMETER_TYPE_UNSPECIFIED: _ClassVar[ParameterType]
    PARAMETER_TYPE_INT: _ClassVar[ParameterType]
    PARAMETER_TYPE_FLOAT: _ClassVar[ParameterType]
    PARAMETER_TYPE_BOOL: _ClassVar[ParameterType]
    PARAMETER_TYPE_CHOICE: _ClassVar[ParameterType]
    PARAMETER_TYPE_BYTES: _ClassVar[ParameterType]
    PARAMETER_TYPE_TEXT: _ClassVar[ParameterType]
PARAMETER_TYPE_UNSPECIFIED: ParameterType
PARAMETER_TYPE_INT: ParameterType
PARAMETER_TYPE_FLOAT: ParameterType
PARAMETER_TYPE_BOOL: ParameterType
PARAMETER_TYPE_CHOICE: ParameterType
PARAMETER_TYPE_BYTES: ParameterType
PARAMETER_TYPE_TEXT: ParameterType

class ListModelsRequest(_message.Message):
    __slots__ = ("kind",)
    KIND_FIELD_NUMBER: _ClassVar[int]
    kind: str
    def __init__(self, kind: _Optional[str] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ...) -> None: ...

class ParameterInfo(_message.Message):
    __slots__ = ("name", "type", "doc", "min", "max", "choices", "default_value", "accepts", "required", "multiple_of")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DOC_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    CHOICES_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_VALUE_FIELD_NUMBER: _ClassVar[int]
    ACCEPTS_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    MULTIPLE_OF_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: ParameterType
    doc: str
    min: float
    max: float
    choices: _containers.RepeatedScalarFieldContainer[str]
    default_value: str
    accepts: str
    required: bool
    multiple_of: int
    def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[ParameterType, str]] = ..., doc: _Optional[str] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., choices: _Optional[_Iterable[str]] = ..., default_value: _Optional[str] = ..., accepts: _Optional[str] = ..., required: _Optional[bool] = ..., multiple_of: _Optional[int] = ...) -> None: ...

class TileInfo(_message.Message):
    __slots__ = ("symbol", "tags", "tile_id")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    TILE_ID_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    tile_id: int
    def __init__(self, symbol: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., tile_id: _Optional[int] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("kind", "name", "version", "family", "description", "execution_provider", "parameters", "output_formats", "sha256", "tiles", "generator_version", "rules", "sessions")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FORMATS_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    TILES_FIELD_NUMBER: _ClassVar[int]
    GENERATOR_VERSION_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    kind: str
    name: str
    version: str
    family: str
    description: str
    execution_provider: str
    parameters: _containers.RepeatedCompositeFieldContainer[ParameterInfo]
    output_formats: _containers.RepeatedScalarFieldContainer[str]
    sha256: str
    tiles: _containers.RepeatedCompositeFieldContainer[TileInfo]
    generator_version: int
    rules: _containers.RepeatedScalarFieldContainer[str]
    sessions: bool
    def __init__(self, kind: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., family: _Optional[str] = ..., description: _Optional[str] = ..., execution_provider: _Optional[str] = ..., parameters: _Optional[_Iterable[_Union[ParameterInfo, _Mapping]]] = ..., output_formats: _Optional[_Iterable[str]] = ..., sha256: _Optional[str] = ..., tiles: _Optional[_Iterable[_Union[TileInfo, _Mapping]]] = ..., generator_version: _Optional[int] = ..., rules: _Optional[_Iterable[str]] = ..., sessions: _Optional[bool] = ...) -> None: ...

class GenerateRequest(_message.Message):
    __slots__ = ("model", "seed", "formats", "levels", "terrain", "textures", "music", "dialog", "npc", "partials", "validate_only")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    FORMATS_FIELD_NUMBER: _ClassVar[int]
    LEVELS_FIELD_NUMBER: _ClassVar[int]
    TERRAIN_FIELD_NUMBER: _ClassVar[int]
    TEXTURES_FIELD_NUMBER: _ClassVar[int]
    MUSIC_FIELD_NUMBER: _ClassVar[int]
    DIALOG_FIELD_NUMBER: _ClassVar[int]
    NPC_FIELD_NUMBER: _ClassVar[int]
    PARTIALS_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    model: str
    seed: int
    formats: _containers.RepeatedScalarFieldContainer[str]
    levels: LevelParams
    terrain: TerrainParams
    textures: TextureParams
    music: MusicParams
    dialog: DialogParams
    npc: NpcParams
    partials: bool
    validate_only: bool
    def __init__(self, model: _Optional[str] = ..., seed: _Optional[int] = ..., formats: _Optional[_Iterable[str]] = ..., levels: _Optional[_Union[LevelParams, _Mapping]] = ..., terrain: _Optional[_Union[TerrainParams, _Mapping]] = ..., textures: _Optional[_Union[TextureParams, _Mapping]] = ..., music: _Optional[_Union[MusicParams, _Mapping]] = ..., dialog: _Optional[_Union[DialogParams, _Mapping]] = ..., npc: _Optional[_Union[NpcParams, _Mapping]] = ..., partials: _Optional[bool] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class LevelParams(_message.Message):
    __slots__ = ("width", "enemies", "gaps", "gold", "temperature", "pacing", "style", "digging", "candidates", "symmetry")
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    ENEMIES_FIELD_NUMBER: _ClassVar[int]
    GAPS_FIELD_NUMBER: _ClassVar[int]
    GOLD_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    PACING_FIELD_NUMBER: _ClassVar[int]
    STYLE_FIELD_NUMBER: _ClassVar[int]
    DIGGING_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    SYMMETRY_FIELD_NUMBER: _ClassVar[int]
    width: int
    enemies: float
    gaps: float
    gold: int
    temperature: float
    pacing: float
    style: str
    digging: bool
    candidates: int
    symmetry: float
    def __init__(self, width: _Optional[int] = ..., enemies: _Optional[float] = ..., gaps: _Optional[float] = ..., gold: _Optional[int] = ..., temperature: _Optional[float] = ..., pacing: _Optional[float] = ..., style: _Optional[str] = ..., digging: _Optional[bool] = ..., candidates: _Optional[int] = ..., symmetry: _Optional[float] = ...) -> None: ...

class TerrainParams(_message.Message):
    __slots__ = ("chunk_x", "chunk_y", "size", "noise", "scale", "octaves", "persistence", "warp", "height_range", "cell_size", "sea_level", "moisture", "hydraulic_iterations", "thermal_iterations", "erosion")
    CHUNK_X_FIELD_NUMBER: _ClassVar[int]
    CHUNK_Y_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    NOISE_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    OCTAVES_FIELD_NUMBER: _ClassVar[int]
    PERSISTENCE_FIELD_NUMBER: _ClassVar[int]
    WARP_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_RANGE_FIELD_NUMBER: _ClassVar[int]
    CELL_SIZE_FIELD_NUMBER: _ClassVar[int]
    SEA_LEVEL_FIELD_NUMBER: _ClassVar[int]
    MOISTURE_FIELD_NUMBER: _ClassVar[int]
    HYDRAULIC_ITERATIONS_FIELD_NUMBER: _ClassVar[int]
    THERMAL_ITERATIONS_FIELD_NUMBER: _ClassVar[int]
    EROSION_FIELD_NUMBER: _ClassVar[int]
    chunk_x: int
    chunk_y: int
    size: int
    noise: str
    scale: float
    octaves: int
    persistence: float
    warp: float
    height_range: float
    cell_size: float
    sea_level: float
    moisture: float
    hydraulic_iterations: int
    thermal_iterations: int
    erosion: float
    def __init__(self, chunk_x: _Optional[int] = ..., chunk_y: _Optional[int] = ..., size: _Optional[int] = ..., noise: _Optional[str] = ..., scale: _Optional[float] = ..., octaves: _Optional[int] = ..., persistence: _Optional[float] = ..., warp: _Optional[float] = ..., height_range: _Optional[float] = ..., cell_size: _Optional[float] = ..., sea_level: _Optional[float] = ..., moisture: _Optional[float] = ..., hydraulic_iterations: _Optional[int] = ..., thermal_iterations: _Optional[int] = ..., erosion: _Optional[float] = ...) -> None: ...

class TextureParams(_message.Message):
    __slots__ = ("material", "size", "scale", "hue", "saturation", "brightness", "roughness", "relief", "exemplar", "albedo", "effect", "frames", "frame_size", "fps", "alpha", "wear", "pattern_scale")
    MATERIAL_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    HUE_FIELD_NUMBER: _ClassVar[int]
    SATURATION_FIELD_NUMBER: _ClassVar[int]
    BRIGHTNESS_FIELD_NUMBER: _ClassVar[int]
    ROUGHNESS_FIELD_NUMBER: _ClassVar[int]
    RELIEF_FIELD_NUMBER: _ClassVar[int]
    EXEMPLAR_FIELD_NUMBER: _ClassVar[int]
    ALBEDO_FIELD_NUMBER: _ClassVar[int]
    EFFECT_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    FRAME_SIZE_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    WEAR_FIELD_NUMBER: _ClassVar[int]
    PATTERN_SCALE_FIELD_NUMBER: _ClassVar[int]
    material: str
    size: int
    scale: float
    hue: float
    saturation: float
    brightness: float
    roughness: float
    relief: float
    exemplar: bytes
    albedo: bytes
    effect: str
    frames: int
    frame_size: int
    fps: int
    alpha: str
    wear: float
    pattern_scale: float
    def __init__(self, material: _Optional[str] = ..., size: _Optional[int] = ..., scale: _Optional[float] = ..., hue: _Optional[float] = ..., saturation: _Optional[float] = ..., brightness: _Optional[float] = ..., roughness: _Optional[float] = ..., relief: _Optional[float] = ..., exemplar: _Optional[bytes] = ..., albedo: _Optional[bytes] = ..., effect: _Optional[str] = ..., frames: _Optional[int] = ..., frame_size: _Optional[int] = ..., fps: _Optional[int] = ..., alpha: _Optional[str] = ..., wear: _Optional[float] = ..., pattern_scale: _Optional[float] = ...) -> None: ...

class MusicParams(_message.Message):
    __slots__ = ("key", "mode", "meter", "tempo", "bars", "density", "register", "temperature", "loop", "intensity", "continuation", "form", "style", "drums", "synth")
    KEY_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    METER_FIELD_NUMBER: _ClassVar[int]
    TEMPO_FIELD_NUMBER: _ClassVar[int]
    BARS_FIELD_NUMBER: _ClassVar[int]
    DENSITY_FIELD_NUMBER: _ClassVar[int]
    REGISTER_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    LOOP_FIELD_NUMBER: _ClassVar[int]
    INTENSITY_FIELD_NUMBER: _ClassVar[int]
    CONTINUATION_FIELD_NUMBER: _ClassVar[int]
    FORM_FIELD_NUMBER: _ClassVar[int]
    STYLE_FIELD_NUMBER: _ClassVar[int]
    DRUMS_FIELD_NUMBER: _ClassVar[int]
    SYNTH_FIELD_NUMBER: _ClassVar[int]
    key: str
    mode: str
    meter: str
    tempo: int
    bars: int
    density: float
    register: str
    temperature: float
    loop: bool
    intensity: float
    continuation: bytes
    form: str
    style: str
    drums: bool
    synth: str
    def __init__(self, key: _Optional[str] = ..., mode: _Optional[str] = ..., meter: _Optional[str] = ..., tempo: _Optional[int] = ..., bars: _Optional[int] = ..., density: _Optional[float] = ..., register: _Optional[str] = ..., temperature: _Optional[float] = ..., loop: _Optional[bool] = ..., intensity: _Optional[float] = ..., continuation: _Optional[bytes] = ..., form: _Optional[str] = ..., style: _Optional[str] = ..., drums: _Optional[bool] = ..., synth: _Optional[str] = ...) -> None: ...

class DialogParams(_message.Message):
    __slots__ = ("persona", "topic", "depth", "mode", "situations", "lines", "choices", "max_tokens")
    PERSONA_FIELD_NUMBER: _ClassVar[int]
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    SITUATIONS_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    CHOICES_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    persona: bytes
    topic: str
    depth: int
    mode: str
    situations: str
    lines: int
    choices: int
    max_tokens: int
    def __init__(self, persona: _Optional[bytes] = ..., topic: _Optional[str] = ..., depth: _Optional[int] = ..., mode: _Optional[str] = ..., situations: _Optional[str] = ..., lines: _Optional[int] = ..., choices: _Optional[int] = ..., max_tokens: _Optional[int] = ...) -> None: ...

class GenerateEvent(_message.Message):
    __slots__ = ("progress", "partial", "asset", "final", "is_last")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    IS_LAST_FIELD_NUMBER: _ClassVar[int]
    progress: Progress
    partial: PartialContent
    asset: Asset
    final: Final
    is_last: bool
    def __init__(self, progress: _Optional[_Union[Progress, _Mapping]] = ..., partial: _Optional[_Union[PartialContent, _Mapping]] = ..., asset: _Optional[_Union[Asset, _Mapping]] = ..., final: _Optional[_Union[Final, _Mapping]] = ..., is_last: _Optional[bool] = ...) -> None: ...

class Progress(_message.Message):
    __slots__ = ("fraction", "stage", "message")
    FRACTION_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    fraction: float
    stage: str
    message: str
    def __init__(self, fraction: _Optional[float] = ..., stage: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class PartialContent(_message.Message):
    __slots__ = ("level_chunk", "music_bar", "text_delta")
    LEVEL_CHUNK_FIELD_NUMBER: _ClassVar[int]
    MUSIC_BAR_FIELD_NUMBER: _ClassVar[int]
    TEXT_DELTA_FIELD_NUMBER: _ClassVar[int]
    level_chunk: LevelChunk
    music_bar: MusicBar
    text_delta: TextDelta
    def __init__(self, level_chunk: _Optional[_Union[LevelChunk, _Mapping]] = ..., music_bar: _Optional[_Union[MusicBar, _Mapping]] = ..., text_delta: _Optional[_Union[TextDelta, _Mapping]] = ...) -> None: ...

class LevelChunk(_message.Message):
    __slots__ = ("x", "y", "width", "height", "rows", "level_width", "level_height")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    LEVEL_WIDTH_FIELD_NUMBER: _ClassVar[int]
    LEVEL_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    x: int
    y: int
    width: int
    height: int
    rows: _containers.RepeatedScalarFieldContainer[str]
    level_width: int
    level_height: int
    def __init__(self, x: _Optional[int] = ..., y: _Optional[int] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., rows: _Optional[_Iterable[str]] = ..., level_width: _Optional[int] = ..., level_height: _Optional[int] = ...) -> None: ...

class MusicBar(_message.Message):
    __slots__ = ("index", "total_bars", "start_beat", "length_beats", "notes")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BARS_FIELD_NUMBER: _ClassVar[int]
    START_BEAT_FIELD_NUMBER: _ClassVar[int]
    LENGTH_BEATS_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    index: int
    total_bars: int
    start_beat: float
    length_beats: float
    notes: _containers.RepeatedCompositeFieldContainer[NoteEvent]
    def __init__(self, index: _Optional[int] = ..., total_bars: _Optional[int] = ..., start_beat: _Optional[float] = ..., length_beats: _Optional[float] = ..., notes: _Optional[_Iterable[_Union[NoteEvent, _Mapping]]] = ...) -> None: ...

class NoteEvent(_message.Message):
    __slots__ = ("track", "pitch", "start", "duration", "velocity")
    TRACK_FIELD_NUMBER: _ClassVar[int]
    PITCH_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    VELOCITY_FIELD_NUMBER: _ClassVar[int]
    track: str
    pitch: int
    start: float
    duration: float
    velocity: int
    def __init__(self, track: _Optional[str] = ..., pitch: _Optional[int] = ..., start: _Optional[float] = ..., duration: _Optional[float] = ..., velocity: _Optional[int] = ...) -> None: ...

class Asset(_message.Message):
    __slots__ = ("name", "media_type", "data", "format", "sha256")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    name: str
    media_type: str
    data: bytes
    format: str
    sha256: str
    def __init__(self, name: _Optional[str] = ..., media_type: _Optional[str] = ..., data: _Optional[bytes] = ..., format: _Optional[str] = ..., sha256: _Optional[str] = ...) -> None: ...

class Timing(_message.Message):
    __slots__ = ("stage", "milliseconds")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    MILLISECONDS_FIELD_NUMBER: _ClassVar[int]
    stage: str
    milliseconds: float
    def __init__(self, stage: _Optional[str] = ..., milliseconds: _Optional[float] = ...) -> None: ...

class Parameter(_message.Message):
    __slots__ = ("name", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class Final(_message.Message):
    __slots__ = ("model", "version", "seed", "parameters", "content_hash", "timings", "execution_provider", "attempts", "repaired_tiles", "generator_version")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    TIMINGS_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    REPAIRED_TILES_FIELD_NUMBER: _ClassVar[int]
    GENERATOR_VERSION_FIELD_NUMBER: _ClassVar[int]
    model: str
    version: str
    seed: int
    parameters: _containers.RepeatedCompositeFieldContainer[Parameter]
    content_hash: str
    timings: _containers.RepeatedCompositeFieldContainer[Timing]
    execution_provider: str
    attempts: int
    repaired_tiles: int
    generator_version: int
    def __init__(self, model: _Optional[str] = ..., version: _Optional[str] = ..., seed: _Optional[int] = ..., parameters: _Optional[_Iterable[_Union[Parameter, _Mapping]]] = ..., content_hash: _Optional[str] = ..., timings: _Optional[_Iterable[_Union[Timing, _Mapping]]] = ..., execution_provider: _Optional[str] = ..., attempts: _Optional[int] = ..., repaired_tiles: _Optional[int] = ..., generator_version: _Optional[int] = ...) -> None: ...

class SessionRequest(_message.Message):
    __slots__ = ("open", "input", "cancel", "close")
    OPEN_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    open: SessionOpen
    input: SessionInput
    cancel: SessionCancel
    close: SessionClose
    def __init__(self, open: _Optional[_Union[SessionOpen, _Mapping]] = ..., input: _Optional[_Union[SessionInput, _Mapping]] = ..., cancel: _Optional[_Union[SessionCancel, _Mapping]] = ..., close: _Optional[_Union[SessionClose, _Mapping]] = ...) -> None: ...

class SessionOpen(_message.Message):
    __slots__ = ("model", "seed", "dialog", "npc")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    DIALOG_FIELD_NUMBER: _ClassVar[int]
    NPC_FIELD_NUMBER: _ClassVar[int]
    model: str
    seed: int
    dialog: DialogOpen
    npc: NpcOpen
    def __init__(self, model: _Optional[str] = ..., seed: _Optional[int] = ..., dialog: _Optional[_Union[DialogOpen, _Mapping]] = ..., npc: _Optional[_Union[NpcOpen, _Mapping]] = ...) -> None: ...

class SessionInput(_message.Message):
    __slots__ = ("input_id", "dialog", "npc")
    INPUT_ID_FIELD_NUMBER: _ClassVar[int]
    DIALOG_FIELD_NUMBER: _ClassVar[int]
    NPC_FIELD_NUMBER: _ClassVar[int]
    input_id: int
    dialog: DialogTurn
    npc: NpcTick
    def __init__(self, input_id: _Optional[int] = ..., dialog: _Optional[_Union[DialogTurn, _Mapping]] = ..., npc: _Optional[_Union[NpcTick, _Mapping]] = ...) -> None: ...

class SessionCancel(_message.Message):
    __slots__ = ("input_id",)
    INPUT_ID_FIELD_NUMBER: _ClassVar[int]
    input_id: int
    def __init__(self, input_id: _Optional[int] = ...) -> None: ...

class SessionClose(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SessionEvent(_message.Message):
    __slots__ = ("input_id", "opened", "progress", "partial", "end", "error", "closed", "dialog_reply", "npc_actions")
    INPUT_ID_FIELD_NUMBER: _ClassVar[int]
    OPENED_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CLOSED_FIELD_NUMBER: _ClassVar[int]
    DIALOG_REPLY_FIELD_NUMBER: _ClassVar[int]
    NPC_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    input_id: int
    opened: SessionOpened
    progress: Progress
    partial: PartialContent
    end: InputEnd
    error: SessionError
    closed: SessionClosed
    dialog_reply: DialogReply
    npc_actions: NpcActions
    def __init__(self, input_id: _Optional[int] = ..., opened: _Optional[_Union[SessionOpened, _Mapping]] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., partial: _Optional[_Union[PartialContent, _Mapping]] = ..., end: _Optional[_Union[InputEnd, _Mapping]] = ..., error: _Optional[_Union[SessionError, _Mapping]] = ..., closed: _Optional[_Union[SessionClosed, _Mapping]] = ..., dialog_reply: _Optional[_Union[DialogReply, _Mapping]] = ..., npc_actions: _Optional[_Union[NpcActions, _Mapping]] = ...) -> None: ...

class SessionOpened(_message.Message):
    __slots__ = ("session_id", "model", "version", "execution_provider", "parameters")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    model: str
    version: str
    execution_provider: str
    parameters: _containers.RepeatedCompositeFieldContainer[Parameter]
    def __init__(self, session_id: _Optional[str] = ..., model: _Optional[str] = ..., version: _Optional[str] = ..., execution_provider: _Optional[str] = ..., parameters: _Optional[_Iterable[_Union[Parameter, _Mapping]]] = ...) -> None: ...

class InputEnd(_message.Message):
    __slots__ = ("stop_reason", "timings", "tokens")
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    TIMINGS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    stop_reason: str
    timings: _containers.RepeatedCompositeFieldContainer[Timing]
    tokens: int
    def __init__(self, stop_reason: _Optional[str] = ..., timings: _Optional[_Iterable[_Union[Timing, _Mapping]]] = ..., tokens: _Optional[int] = ...) -> None: ...

class SessionError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class SessionClosed(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class DialogPersona(_message.Message):
    __slots__ = ("name", "role", "traits", "mood", "speech_style", "knowledge", "secrets")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TRAITS_FIELD_NUMBER: _ClassVar[int]
    MOOD_FIELD_NUMBER: _ClassVar[int]
    SPEECH_STYLE_FIELD_NUMBER: _ClassVar[int]
    KNOWLEDGE_FIELD_NUMBER: _ClassVar[int]
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    name: str
    role: str
    traits: _containers.RepeatedScalarFieldContainer[str]
    mood: str
    speech_style: str
    knowledge: _containers.RepeatedScalarFieldContainer[str]
    secrets: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., role: _Optional[str] = ..., traits: _Optional[_Iterable[str]] = ..., mood: _Optional[str] = ..., speech_style: _Optional[str] = ..., knowledge: _Optional[_Iterable[str]] = ..., secrets: _Optional[_Iterable[str]] = ...) -> None: ...

class DialogSampling(_message.Message):
    __slots__ = ("temperature", "top_p", "max_tokens", "repetition_penalty")
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    REPETITION_PENALTY_FIELD_NUMBER: _ClassVar[int]
    temperature: float
    top_p: float
    max_tokens: int
    repetition_penalty: float
    def __init__(self, temperature: _Optional[float] = ..., top_p: _Optional[float] = ..., max_tokens: _Optional[int] = ..., repetition_penalty: _Optional[float] = ...) -> None: ...

class DialogOpen(_message.Message):
    __slots__ = ("persona", "sampling", "structured", "actions", "emotions")
    PERSONA_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_FIELD_NUMBER: _ClassVar[int]
    STRUCTURED_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    EMOTIONS_FIELD_NUMBER: _ClassVar[int]
    persona: DialogPersona
    sampling: DialogSampling
    structured: bool
    actions: _containers.RepeatedScalarFieldContainer[str]
    emotions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, persona: _Optional[_Union[DialogPersona, _Mapping]] = ..., sampling: _Optional[_Union[DialogSampling, _Mapping]] = ..., structured: _Optional[bool] = ..., actions: _Optional[_Iterable[str]] = ..., emotions: _Optional[_Iterable[str]] = ...) -> None: ...

class DialogTurn(_message.Message):
    __slots__ = ("player_line",)
    PLAYER_LINE_FIELD_NUMBER: _ClassVar[int]
    player_line: str
    def __init__(self, player_line: _Optional[str] = ...) -> None: ...

class TextDelta(_message.Message):
    __slots__ = ("text",)
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    def __init__(self, text: _Optional[str] = ...) -> None: ...

class DialogReply(_message.Message):
    __slots__ = ("line", "emotion", "action")
    LINE_FIELD_NUMBER: _ClassVar[int]
    EMOTION_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    line: str
    emotion: str
    action: str
    def __init__(self, line: _Optional[str] = ..., emotion: _Optional[str] = ..., action: _Optional[str] = ...) -> None: ...

class NpcParams(_message.Message):
    __slots__ = ("archetype", "aggression", "caution")
    ARCHETYPE_FIELD_NUMBER: _ClassVar[int]
    AGGRESSION_FIELD_NUMBER: _ClassVar[int]
    CAUTION_FIELD_NUMBER: _ClassVar[int]
    archetype: str
    aggression: float
    caution: float
    def __init__(self, archetype: _Optional[str] = ..., aggression: _Optional[float] = ..., caution: _Optional[float] = ...) -> None: ...

class Vec2(_message.Message):
    __slots__ = ("x", "y")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    x: float
    y: float
    def __init__(self, x: _Optional[float] = ..., y: _Optional[float] = ...) -> None: ...

class NpcAgent(_message.Message):
    __slots__ = ("agent_id", "archetype", "aggression", "caution", "seed")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    ARCHETYPE_FIELD_NUMBER: _ClassVar[int]
    AGGRESSION_FIELD_NUMBER: _ClassVar[int]
    CAUTION_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    archetype: str
    aggression: float
    caution: float
    seed: int
    def __init__(self, agent_id: _Optional[str] = ..., archetype: _Optional[str] = ..., aggression: _Optional[float] = ..., caution: _Optional[float] = ..., seed: _Optional[int] = ...) -> None: ...

class NpcOpen(_message.Message):
    __slots__ = ("mode", "agents")
    MODE_FIELD_NUMBER: _ClassVar[int]
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    mode: str
    agents: _containers.RepeatedCompositeFieldContainer[NpcAgent]
    def __init__(self, mode: _Optional[str] = ..., agents: _Optional[_Iterable[_Union[NpcAgent, _Mapping]]] = ...) -> None: ...

class NpcObservation(_message.Message):
    __slots__ = ("agent_id", "position", "velocity", "heading", "health", "player_visible", "player_position", "has_last_seen", "last_seen_position", "last_seen_age", "nav_to_last_seen", "last_seen_path", "has_nearest_agent", "nearest_agent_position", "goal_position", "nav_to_goal", "goal_path", "has_cover", "nav_to_cover", "cover_path", "nav_away", "in_cover", "wall_rays", "features", "action_mask")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    VELOCITY_FIELD_NUMBER: _ClassVar[int]
    HEADING_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    PLAYER_VISIBLE_FIELD_NUMBER: _ClassVar[int]
    PLAYER_POSITION_FIELD_NUMBER: _ClassVar[int]
    HAS_LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_POSITION_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_AGE_FIELD_NUMBER: _ClassVar[int]
    NAV_TO_LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_PATH_FIELD_NUMBER: _ClassVar[int]
    HAS_NEAREST_AGENT_FIELD_NUMBER: _ClassVar[int]
    NEAREST_AGENT_POSITION_FIELD_NUMBER: _ClassVar[int]
    GOAL_POSITION_FIELD_NUMBER: _ClassVar[int]
    NAV_TO_GOAL_FIELD_NUMBER: _ClassVar[int]
    GOAL_PATH_FIELD_NUMBER: _ClassVar[int]
    HAS_COVER_FIELD_NUMBER: _ClassVar[int]
    NAV_TO_COVER_FIELD_NUMBER: _ClassVar[int]
    COVER_PATH_FIELD_NUMBER: _ClassVar[int]
    NAV_AWAY_FIELD_NUMBER: _ClassVar[int]
    IN_COVER_FIELD_NUMBER: _ClassVar[int]
    WALL_RAYS_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    ACTION_MASK_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    position: Vec2
    velocity: Vec2
    heading: Vec2
    health: float
    player_visible: bool
    player_position: Vec2
    has_last_seen: bool
    last_seen_position: Vec2
    last_seen_age: float
    nav_to_last_seen: Vec2
    last_seen_path: float
    has_nearest_agent: bool
    nearest_agent_position: Vec2
    goal_position: Vec2
    nav_to_goal: Vec2
    goal_path: float
    has_cover: bool
    nav_to_cover: Vec2
    cover_path: float
    nav_away: Vec2
    in_cover: bool
    wall_rays: _containers.RepeatedScalarFieldContainer[float]
    features: _containers.RepeatedScalarFieldContainer[float]
    action_mask: _containers.RepeatedScalarFieldContainer[bool]
    def __init__(self, agent_id: _Optional[str] = ..., position: _Optional[_Union[Vec2, _Mapping]] = ..., velocity: _Optional[_Union[Vec2, _Mapping]] = ..., heading: _Optional[_Union[Vec2, _Mapping]] = ..., health: _Optional[float] = ..., player_visible: _Optional[bool] = ..., player_position: _Optional[_Union[Vec2, _Mapping]] = ..., has_last_seen: _Optional[bool] = ..., last_seen_position: _Optional[_Union[Vec2, _Mapping]] = ..., last_seen_age: _Optional[float] = ..., nav_to_last_seen: _Optional[_Union[Vec2, _Mapping]] = ..., last_seen_path: _Optional[float] = ..., has_nearest_agent: _Optional[bool] = ..., nearest_agent_position: _Optional[_Union[Vec2, _Mapping]] = ..., goal_position: _Optional[_Union[Vec2, _Mapping]] = ..., nav_to_goal: _Optional[_Union[Vec2, _Mapping]] = ..., goal_path: _Optional[float] = ..., has_cover: _Optional[bool] = ..., nav_to_cover: _Optional[_Union[Vec2, _Mapping]] = ..., cover_path: _Optional[float] = ..., nav_away: _Optional[_Union[Vec2, _Mapping]] = ..., in_cover: _Optional[bool] = ..., wall_rays: _Optional[_Iterable[float]] = ..., features: _Optional[_Iterable[float]] = ..., action_mask: _Optional[_Iterable[bool]] = ...) -> None: ...

class NpcTick(_message.Message):
    __slots__ = ("join", "leave", "observations", "block")
    JOIN_FIELD_NUMBER: _ClassVar[int]
    LEAVE_FIELD_NUMBER: _ClassVar[int]
    OBSERVATIONS_FIELD_NUMBER: _ClassVar[int]
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    join: _containers.RepeatedCompositeFieldContainer[NpcAgent]
    leave: _containers.RepeatedScalarFieldContainer[str]
    observations: _containers.RepeatedCompositeFieldContainer[NpcObservation]
    block: NpcObservationBlock
    def __init__(self, join: _Optional[_Iterable[_Union[NpcAgent, _Mapping]]] = ..., leave: _Optional[_Iterable[str]] = ..., observations: _Optional[_Iterable[_Union[NpcObservation, _Mapping]]] = ..., block: _Optional[_Union[NpcObservationBlock, _Mapping]] = ...) -> None: ...

class NpcObservationBlock(_message.Message):
    __slots__ = ("agent_ids", "position", "velocity", "heading", "health", "player_visible", "player_position", "has_last_seen", "last_seen_position", "last_seen_age", "nav_to_last_seen", "last_seen_path", "has_nearest_agent", "nearest_agent_position", "goal_position", "nav_to_goal", "goal_path", "has_cover", "nav_to_cover", "cover_path", "nav_away", "in_cover", "wall_rays", "features", "action_mask")
    AGENT_IDS_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    VELOCITY_FIELD_NUMBER: _ClassVar[int]
    HEADING_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    PLAYER_VISIBLE_FIELD_NUMBER: _ClassVar[int]
    PLAYER_POSITION_FIELD_NUMBER: _ClassVar[int]
    HAS_LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_POSITION_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_AGE_FIELD_NUMBER: _ClassVar[int]
    NAV_TO_LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_PATH_FIELD_NUMBER: _ClassVar[int]
    HAS_NEAREST_AGENT_FIELD_NUMBER: _ClassVar[int]
    NEAREST_AGENT_POSITION_FIELD_NUMBER: _ClassVar[int]
    GOAL_POSITION_FIELD_NUMBER: _ClassVar[int]
    NAV_TO_GOAL_FIELD_NUMBER: _ClassVar[int]
    GOAL_PATH_FIELD_NUMBER: _ClassVar[int]
    HAS_COVER_FIELD_NUMBER: _ClassVar[int]
    NAV_TO_COVER_FIELD_NUMBER: _ClassVar[int]
    COVER_PATH_FIELD_NUMBER: _ClassVar[int]
    NAV_AWAY_FIELD_NUMBER: _ClassVar[int]
    IN_COVER_FIELD_NUMBER: _ClassVar[int]
    WALL_RAYS_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    ACTION_MASK_FIELD_NUMBER: _ClassVar[int]
    agent_ids: _containers.RepeatedScalarFieldContainer[str]
    position: _containers.RepeatedScalarFieldContainer[float]
    velocity: _containers.RepeatedScalarFieldContainer[float]
    heading: _containers.RepeatedScalarFieldContainer[float]
    health: _containers.RepeatedScalarFieldContainer[float]
    player_visible: _containers.RepeatedScalarFieldContainer[bool]
    player_position: _containers.RepeatedScalarFieldContainer[float]
    has_last_seen: _containers.RepeatedScalarFieldContainer[bool]
    last_seen_position: _containers.RepeatedScalarFieldContainer[float]
    last_seen_age: _containers.RepeatedScalarFieldContainer[float]
    nav_to_last_seen: _containers.RepeatedScalarFieldContainer[float]
    last_seen_path: _containers.RepeatedScalarFieldContainer[float]
    has_nearest_agent: _containers.RepeatedScalarFieldContainer[bool]
    nearest_agent_position: _containers.RepeatedScalarFieldContainer[float]
    goal_position: _containers.RepeatedScalarFieldContainer[float]
    nav_to_goal: _containers.RepeatedScalarFieldContainer[float]
    goal_path: _containers.RepeatedScalarFieldContainer[float]
    has_cover: _containers.RepeatedScalarFieldContainer[bool]
    nav_to_cover: _containers.RepeatedScalarFieldContainer[float]
    cover_path: _containers.RepeatedScalarFieldContainer[float]
    nav_away: _containers.RepeatedScalarFieldContainer[float]
    in_cover: _containers.RepeatedScalarFieldContainer[bool]
    wall_rays: _containers.RepeatedScalarFieldContainer[float]
    features: _containers.RepeatedScalarFieldContainer[float]
    action_mask: _containers.RepeatedScalarFieldContainer[bool]
    def __init__(self, agent_ids: _Optional[_Iterable[str]] = ..., position: _Optional[_Iterable[float]] = ..., velocity: _Optional[_Iterable[float]] = ..., heading: _Optional[_Iterable[float]] = ..., health: _Optional[_Iterable[float]] = ..., player_visible: _Optional[_Iterable[bool]] = ..., player_position: _Optional[_Iterable[float]] = ..., has_last_seen: _Optional[_Iterable[bool]] = ..., last_seen_position: _Optional[_Iterable[float]] = ..., last_seen_age: _Optional[_Iterable[float]] = ..., nav_to_last_seen: _Optional[_Iterable[float]] = ..., last_seen_path: _Optional[_Iterable[float]] = ..., has_nearest_agent: _Optional[_Iterable[bool]] = ..., nearest_agent_position: _Optional[_Iterable[float]] = ..., goal_position: _Optional[_Iterable[float]] = ..., nav_to_goal: _Optional[_Iterable[float]] = ..., goal_path: _Optional[_Iterable[float]] = ..., has_cover: _Optional[_Iterable[bool]] = ..., nav_to_cover: _Optional[_Iterable[float]] = ..., cover_path: _Optional[_Iterable[float]] = ..., nav_away: _Optional[_Iterable[float]] = ..., in_cover: _Optional[_Iterable[bool]] = ..., wall_rays: _Optional[_Iterable[float]] = ..., features: _Optional[_Iterable[float]] = ..., action_mask: _Optional[_Iterable[bool]] = ...) -> None: ...

class NpcAction(_message.Message):
    __slots__ = ("agent_id", "action", "name", "direction", "discrete", "continuous")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    DISCRETE_FIELD_NUMBER: _ClassVar[int]
    CONTINUOUS_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    action: int
    name: str
    direction: Vec2
    discrete: _containers.RepeatedScalarFieldContainer[int]
    continuous: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, agent_id: _Optional[str] = ..., action: _Optional[int] = ..., name: _Optional[str] = ..., direction: _Optional[_Union[Vec2, _Mapping]] = ..., discrete: _Optional[_Iterable[int]] = ..., continuous: _Optional[_Iterable[float]] = ...) -> None: ...

class NpcActions(_message.Message):
    __slots__ = ("actions", "block")
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    actions: _containers.RepeatedCompositeFieldContainer[NpcAction]
    block: NpcActionBlock
    def __init__(self, actions: _Optional[_Iterable[_Union[NpcAction, _Mapping]]] = ..., block: _Optional[_Union[NpcActionBlock, _Mapping]] = ...) -> None: ...

class NpcActionBlock(_message.Message):
    __slots__ = ("action", "direction", "discrete", "continuous", "discrete_branches", "continuous_dims", "names")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    DISCRETE_FIELD_NUMBER: _ClassVar[int]
    CONTINUOUS_FIELD_NUMBER: _ClassVar[int]
    DISCRETE_BRANCHES_FIELD_NUMBER: _ClassVar[int]
    CONTINUOUS_DIMS_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    action: _containers.RepeatedScalarFieldContainer[int]
    direction: _containers.RepeatedScalarFieldContainer[float]
    discrete: _containers.RepeatedScalarFieldContainer[int]
    continuous: _containers.RepeatedScalarFieldContainer[float]
    discrete_branches: int
    continuous_dims: int
    names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, action: _Optional[_Iterable[int]] = ..., direction: _Optional[_Iterable[float]] = ..., discrete: _Optional[_Iterable[int]] = ..., continuous: _Optional[_Iterable[float]] = ..., discrete_branches: _Optional[int] = ..., continuous_dims: _Optional[int] = ..., names: _Optional[_Iterable[str]] = ...) -> None: ...
