// Typed messages of the gamegen.v1 contract that the client reads and writes, hand-written to mirror
// proto/gamegen/v1/gamegen.proto in protobuf's JSON mapping. Each class is named after its proto
// message and names its fields by their JSON names; tests/test_unity_package.py checks every name
// here against the proto descriptor, so the two cannot drift. Fields the server adds later are
// ignored on reading (the contract only grows within v1).
using System;
using System.Collections.Generic;
using System.Globalization;
using GameGen.Client.Json;

namespace GameGen.Client
{
    // ------------------------------------------------------------------------------------------
    // Models

    public enum ParameterType { Unspecified = 0, Int = 1, Float = 2, Bool = 3, Choice = 4, Bytes = 5, Text = 6 }

    public sealed class ParameterInfo
    {
        public string Name, Doc, DefaultValue, Accepts;
        public ParameterType Type;
        public double Min, Max;
        public List<string> Choices;
        public bool Required;
        public uint MultipleOf;

        public static ParameterInfo Read(JsonObject j)
        {
            var p = new ParameterInfo
            {
                Name = j.GetString("name"), Doc = j.GetString("doc"), DefaultValue = j.GetString("defaultValue"),
                Accepts = j.GetString("accepts"), Min = j.GetDouble("min"), Max = j.GetDouble("max"),
                Choices = j.GetStrings("choices"), Required = j.GetBool("required"), MultipleOf = j.GetUInt("multipleOf"),
            };
            var type = j.Find("type");
            if (type is string)
            {
                switch ((string)type)
                {
                    case "PARAMETER_TYPE_INT": p.Type = ParameterType.Int; break;
                    case "PARAMETER_TYPE_FLOAT": p.Type = ParameterType.Float; break;
                    case "PARAMETER_TYPE_BOOL": p.Type = ParameterType.Bool; break;
                    case "PARAMETER_TYPE_CHOICE": p.Type = ParameterType.Choice; break;
                    case "PARAMETER_TYPE_BYTES": p.Type = ParameterType.Bytes; break;
                    case "PARAMETER_TYPE_TEXT": p.Type = ParameterType.Text; break;
                    default: p.Type = ParameterType.Unspecified; break;  // a type this client predates
                }
            }
            else if (type != null) p.Type = (ParameterType)j.GetUInt("type");
            return p;
        }

        /// <summary>Turns text typed in a form ("300", "0.4", "true", "stone") into the value this
        /// parameter travels as; a value that is not of the parameter's type is INVALID_ARGUMENT naming
        /// the field. Ranges are left to the server, which checks them exactly once for every client.</summary>
        public object Parse(string text)
        {
            text = (text ?? "").Trim();
            switch (Type)
            {
                case ParameterType.Int:
                    long l;
                    if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out l)) return l;
                    throw GameGenException.InvalidArgument(string.Format("{0}=\"{1}\" is not an integer; allowed: {2}", Name, text, Allowed()));
                case ParameterType.Float:
                    double d;
                    if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out d)) return d;
                    throw GameGenException.InvalidArgument(string.Format("{0}=\"{1}\" is not a number; allowed: {2}", Name, text, Allowed()));
                case ParameterType.Bool:
                    if (text == "true" || text == "1") return true;
                    if (text == "false" || text == "0") return false;
                    throw GameGenException.InvalidArgument(string.Format("{0}=\"{1}\" is not true or false", Name, text));
                case ParameterType.Bytes:
                    throw GameGenException.InvalidArgument(string.Format("{0} is a file ({1}); pass its bytes, not text", Name, Accepts));
                default:
                    return text;
            }
        }

        /// <summary>What the server allows, in words (for tooltips and messages).</summary>
        public string Allowed()
        {
            switch (Type)
            {
                case ParameterType.Int:
                    if (Choices.Count > 0) return "one of " + string.Join(", ", Choices.ToArray());
                    return string.Format(CultureInfo.InvariantCulture, "an integer from {0} to {1}{2}", Min, Max,
                                         MultipleOf > 0 ? ", a multiple of " + MultipleOf : "");
                case ParameterType.Float: return string.Format(CultureInfo.InvariantCulture, "a number from {0} to {1}", Min, Max);
                case ParameterType.Bool: return "true or false";
                case ParameterType.Choice: return "one of " + string.Join(", ", Choices.ToArray());
                case ParameterType.Bytes: return Accepts;
                default: return "";
            }
        }
    }

    public sealed class TileInfo
    {
        public string Symbol;
        public List<string> Tags;
        public uint TileId;

        public static TileInfo Read(JsonObject j)
        {
            return new TileInfo { Symbol = j.GetString("symbol"), Tags = j.GetStrings("tags"), TileId = j.GetUInt("tileId") };
        }
    }

    public sealed class ModelInfo
    {
        public string Kind, Name, Version, Family, Description, ExecutionProvider, Sha256;
        public List<ParameterInfo> Parameters;
        public List<string> OutputFormats, Rules;
        public List<TileInfo> Tiles;
        public uint GeneratorVersion;
        public bool Sessions;

        /// <summary>"kind/name", as a request names the model.</summary>
        public string Ref { get { return Kind + "/" + Name; } }

        public ParameterInfo Parameter(string name)
        {
            foreach (var p in Parameters) if (p.Name == name) return p;
            return null;
        }

        public static ModelInfo Read(JsonObject j)
        {
            return new ModelInfo
            {
                Kind = j.GetString("kind"), Name = j.GetString("name"), Version = j.GetString("version"),
                Family = j.GetString("family"), Description = j.GetString("description"),
                ExecutionProvider = j.GetString("executionProvider"), Sha256 = j.GetString("sha256"),
                Parameters = j.GetObjects("parameters", ParameterInfo.Read), OutputFormats = j.GetStrings("outputFormats"),
                Tiles = j.GetObjects("tiles", TileInfo.Read), GeneratorVersion = j.GetUInt("generatorVersion"),
                Rules = j.GetStrings("rules"), Sessions = j.GetBool("sessions"),
            };
        }
    }

    public sealed class ListModelsResponse
    {
        public List<ModelInfo> Models;

        public static ListModelsResponse Read(JsonObject j)
        {
            return new ListModelsResponse { Models = j.GetObjects("models", ModelInfo.Read) };
        }
    }

    // ------------------------------------------------------------------------------------------
    // Generate: the request

    /// <summary>Parameters of one kind, sent as the request's oneof member named after the kind
    /// ({"levels": {"width": 300}}). Set by name (as ListModels lists them) or through the typed
    /// subclasses below. Values: string, bool, integers, float/double, byte[] for files.</summary>
    public class KindParams
    {
        public readonly string Kind;
        readonly List<KeyValuePair<string, object>> values = new List<KeyValuePair<string, object>>();

        public KindParams(string kind) { Kind = kind; }

        public IEnumerable<KeyValuePair<string, object>> Values { get { return values; } }

        public KindParams Set(string name, object value)
        {
            for (int i = 0; i < values.Count; i++)
                if (values[i].Key == name) { values.RemoveAt(i); break; }
            if (value != null) values.Add(new KeyValuePair<string, object>(name, value));
            return this;
        }

        public object Get(string name)
        {
            foreach (var kv in values) if (kv.Key == name) return kv.Value;
            return null;
        }

        protected uint? GetUInt(string name) { var v = Get(name); return v == null ? (uint?)null : Convert.ToUInt32(v, CultureInfo.InvariantCulture); }
        protected int? GetInt(string name) { var v = Get(name); return v == null ? (int?)null : Convert.ToInt32(v, CultureInfo.InvariantCulture); }
        protected double? GetDouble(string name) { var v = Get(name); return v == null ? (double?)null : Convert.ToDouble(v, CultureInfo.InvariantCulture); }
        protected bool? GetBool(string name) { var v = Get(name); return v == null ? (bool?)null : (bool)v; }
        protected string GetString(string name) { return Get(name) as string; }
        protected byte[] GetBytes(string name) { return Get(name) as byte[]; }

        internal void Write(JsonWriter w)
        {
            w.BeginObject();
            foreach (var kv in values) w.Name(kv.Key).Any(kv.Value);
            w.EndObject();
        }
    }

    public sealed class LevelParams : KindParams
    {
        public LevelParams() : base("levels") { }
        public uint? Width { get { return GetUInt("width"); } set { Set("width", value); } }
        public double? Enemies { get { return GetDouble("enemies"); } set { Set("enemies", value); } }
        public double? Gaps { get { return GetDouble("gaps"); } set { Set("gaps", value); } }
        public uint? Gold { get { return GetUInt("gold"); } set { Set("gold", value); } }
        public double? Temperature { get { return GetDouble("temperature"); } set { Set("temperature", value); } }
        public double? Pacing { get { return GetDouble("pacing"); } set { Set("pacing", value); } }
        public string Style { get { return GetString("style"); } set { Set("style", value); } }
        public bool? Digging { get { return GetBool("digging"); } set { Set("digging", value); } }
        public uint? Candidates { get { return GetUInt("candidates"); } set { Set("candidates", value); } }
        public double? Symmetry { get { return GetDouble("symmetry"); } set { Set("symmetry", value); } }
    }

    public sealed class TerrainParams : KindParams
    {
        public TerrainParams() : base("terrain") { }
        public int? ChunkX { get { return GetInt("chunkX"); } set { Set("chunkX", value); } }
        public int? ChunkY { get { return GetInt("chunkY"); } set { Set("chunkY", value); } }
        public uint? Size { get { return GetUInt("size"); } set { Set("size", value); } }
        public string Noise { get { return GetString("noise"); } set { Set("noise", value); } }
        public double? Scale { get { return GetDouble("scale"); } set { Set("scale", value); } }
        public uint? Octaves { get { return GetUInt("octaves"); } set { Set("octaves", value); } }
        public double? Persistence { get { return GetDouble("persistence"); } set { Set("persistence", value); } }
        public double? Warp { get { return GetDouble("warp"); } set { Set("warp", value); } }
        public double? HeightRange { get { return GetDouble("heightRange"); } set { Set("heightRange", value); } }
        public double? CellSize { get { return GetDouble("cellSize"); } set { Set("cellSize", value); } }
        public double? SeaLevel { get { return GetDouble("seaLevel"); } set { Set("seaLevel", value); } }
        public double? Moisture { get { return GetDouble("moisture"); } set { Set("moisture", value); } }
        public uint? HydraulicIterations { get { return GetUInt("hydraulicIterations"); } set { Set("hydraulicIterations", value); } }
        public uint? ThermalIterations { get { return GetUInt("thermalIterations"); } set { Set("thermalIterations", value); } }
        public double? Erosion { get { return GetDouble("erosion"); } set { Set("erosion", value); } }
    }

    public sealed class TextureParams : KindParams
    {
        public TextureParams() : base("textures") { }
        public string Material { get { return GetString("material"); } set { Set("material", value); } }
        public uint? Size { get { return GetUInt("size"); } set { Set("size", value); } }
        public double? Scale { get { return GetDouble("scale"); } set { Set("scale", value); } }
        public double? Hue { get { return GetDouble("hue"); } set { Set("hue", value); } }
        public double? Saturation { get { return GetDouble("saturation"); } set { Set("saturation", value); } }
        public double? Brightness { get { return GetDouble("brightness"); } set { Set("brightness", value); } }
        public double? Roughness { get { return GetDouble("roughness"); } set { Set("roughness", value); } }
        public double? Relief { get { return GetDouble("relief"); } set { Set("relief", value); } }
        public byte[] Exemplar { get { return GetBytes("exemplar"); } set { Set("exemplar", value); } }
        public byte[] Albedo { get { return GetBytes("albedo"); } set { Set("albedo", value); } }
        public string Effect { get { return GetString("effect"); } set { Set("effect", value); } }
        public uint? Frames { get { return GetUInt("frames"); } set { Set("frames", value); } }
        public uint? FrameSize { get { return GetUInt("frameSize"); } set { Set("frameSize", value); } }
        public uint? Fps { get { return GetUInt("fps"); } set { Set("fps", value); } }
        public string Alpha { get { return GetString("alpha"); } set { Set("alpha", value); } }
        public double? Wear { get { return GetDouble("wear"); } set { Set("wear", value); } }
        public double? PatternScale { get { return GetDouble("patternScale"); } set { Set("patternScale", value); } }
    }

    public sealed class MusicParams : KindParams
    {
        public MusicParams() : base("music") { }
        public string Key { get { return GetString("key"); } set { Set("key", value); } }
        public string Mode { get { return GetString("mode"); } set { Set("mode", value); } }
        public string Meter { get { return GetString("meter"); } set { Set("meter", value); } }
        public uint? Tempo { get { return GetUInt("tempo"); } set { Set("tempo", value); } }
        public uint? Bars { get { return GetUInt("bars"); } set { Set("bars", value); } }
        public double? Density { get { return GetDouble("density"); } set { Set("density", value); } }
        public string Register { get { return GetString("register"); } set { Set("register", value); } }
        public double? Temperature { get { return GetDouble("temperature"); } set { Set("temperature", value); } }
        public bool? Loop { get { return GetBool("loop"); } set { Set("loop", value); } }
        public double? Intensity { get { return GetDouble("intensity"); } set { Set("intensity", value); } }
        public byte[] Continuation { get { return GetBytes("continuation"); } set { Set("continuation", value); } }
        public string Form { get { return GetString("form"); } set { Set("form", value); } }
        public string Style { get { return GetString("style"); } set { Set("style", value); } }
        public bool? Drums { get { return GetBool("drums"); } set { Set("drums", value); } }
        public string Synth { get { return GetString("synth"); } set { Set("synth", value); } }
    }

    public sealed class DialogParams : KindParams
    {
        public DialogParams() : base("dialog") { }
        public byte[] Persona { get { return GetBytes("persona"); } set { Set("persona", value); } }
        public string Topic { get { return GetString("topic"); } set { Set("topic", value); } }
        public uint? Depth { get { return GetUInt("depth"); } set { Set("depth", value); } }
        public string Mode { get { return GetString("mode"); } set { Set("mode", value); } }
        public string Situations { get { return GetString("situations"); } set { Set("situations", value); } }
        public uint? Lines { get { return GetUInt("lines"); } set { Set("lines", value); } }
        public uint? Choices { get { return GetUInt("choices"); } set { Set("choices", value); } }
    }

    public sealed class NpcParams : KindParams
    {
        public NpcParams() : base("npc") { }
        public string Archetype { get { return GetString("archetype"); } set { Set("archetype", value); } }
        public double? Aggression { get { return GetDouble("aggression"); } set { Set("aggression", value); } }
        public double? Caution { get { return GetDouble("caution"); } set { Set("caution", value); } }
    }

    public sealed class GenerateRequest
    {
        /// <summary>"kind/name" or "kind/name@version", e.g. "levels/smb".</summary>
        public string Model;
        public ulong Seed;
        public List<string> Formats = new List<string>();
        /// <summary>The kind's parameters; null sends none (every parameter at its default).</summary>
        public KindParams Params;
        /// <summary>Stream partial content (level columns, music bars); null leaves the server's default (on).</summary>
        public bool? Partials;
        public bool ValidateOnly;

        public GenerateRequest() { }
        public GenerateRequest(string model, ulong seed = 0) { Model = model; Seed = seed; }

        /// <summary>The kind, from the model reference ("levels/smb@1.0.0" -> "levels").</summary>
        public string Kind { get { var slash = (Model ?? "").IndexOf('/'); return slash < 0 ? "" : Model.Substring(0, slash); } }

        /// <summary>Sets a parameter by the name ListModels gives it (its proto field name, e.g.
        /// "width", "chunk_x" or "chunkX").</summary>
        public GenerateRequest Set(string name, object value)
        {
            if (Params == null) Params = new KindParams(Kind);
            Params.Set(CamelCase(name), value);
            return this;
        }

        public GenerateRequest Format(params string[] formats) { Formats.AddRange(formats); return this; }

        internal static string CamelCase(string snake)
        {
            if (snake.IndexOf('_') < 0) return snake;
            var parts = snake.Split('_');
            for (int i = 1; i < parts.Length; i++)
                if (parts[i].Length > 0) parts[i] = char.ToUpperInvariant(parts[i][0]) + parts[i].Substring(1);
            return string.Concat(parts);
        }

        public string ToJson()
        {
            var w = new JsonWriter().BeginObject();
            w.Name("model").Value(Model ?? "");
            w.Name("seed").ValueInt64(Seed);
            w.Name("formats").BeginArray();
            foreach (var f in Formats) w.Value(f);
            w.EndArray();
            if (Params != null)
            {
                w.Name(string.IsNullOrEmpty(Params.Kind) ? Kind : Params.Kind);
                Params.Write(w);
            }
            if (Partials.HasValue) w.Name("partials").Value(Partials.Value);
            if (ValidateOnly) w.Name("validateOnly").Value(true);
            return w.EndObject().ToString();
        }
    }

    // ------------------------------------------------------------------------------------------
    // Generate: the events

    public enum GenerateEventType { Unknown, Progress, LevelChunk, MusicBar, TextDelta, Asset, Final }

    public sealed class Progress
    {
        public float Fraction;
        public string Stage, Message;

        public static Progress Read(JsonObject j)
        {
            return new Progress { Fraction = (float)j.GetDouble("fraction"), Stage = j.GetString("stage"), Message = j.GetString("message") };
        }
    }

    public sealed class LevelChunk
    {
        public uint X, Y, Width, Height, LevelWidth, LevelHeight;
        public List<string> Rows;

        public static LevelChunk Read(JsonObject j)
        {
            return new LevelChunk
            {
                X = j.GetUInt("x"), Y = j.GetUInt("y"), Width = j.GetUInt("width"), Height = j.GetUInt("height"),
                Rows = j.GetStrings("rows"), LevelWidth = j.GetUInt("levelWidth"), LevelHeight = j.GetUInt("levelHeight"),
            };
        }
    }

    public sealed class NoteEvent
    {
        public string Track;
        public uint Pitch, Velocity;
        public double Start, Duration;

        public static NoteEvent Read(JsonObject j)
        {
            return new NoteEvent
            {
                Track = j.GetString("track"), Pitch = j.GetUInt("pitch"), Start = j.GetDouble("start"),
                Duration = j.GetDouble("duration"), Velocity = j.GetUInt("velocity"),
            };
        }
    }

    public sealed class MusicBar
    {
        public uint Index, TotalBars;
        public double StartBeat, LengthBeats;
        public List<NoteEvent> Notes;

        public static MusicBar Read(JsonObject j)
        {
            return new MusicBar
            {
                Index = j.GetUInt("index"), TotalBars = j.GetUInt("totalBars"), StartBeat = j.GetDouble("startBeat"),
                LengthBeats = j.GetDouble("lengthBeats"), Notes = j.GetObjects("notes", NoteEvent.Read),
            };
        }
    }

    public sealed class TextDelta
    {
        public string Text;
        public static TextDelta Read(JsonObject j) { return new TextDelta { Text = j.GetString("text") }; }
    }

    public sealed class PartialContent
    {
        public LevelChunk LevelChunk;
        public MusicBar MusicBar;
        public TextDelta TextDelta;

        public static PartialContent Read(JsonObject j)
        {
            var p = new PartialContent();
            if (j.Has("levelChunk")) p.LevelChunk = LevelChunk.Read(j.GetObject("levelChunk"));
            else if (j.Has("musicBar")) p.MusicBar = MusicBar.Read(j.GetObject("musicBar"));
            else if (j.Has("textDelta")) p.TextDelta = TextDelta.Read(j.GetObject("textDelta"));
            return p;
        }
    }

    public sealed class Asset
    {
        public string Name, MediaType, Format, Sha256;
        public byte[] Data;

        /// <summary>A low-resolution preview sent early (not part of the final content).</summary>
        public bool IsPreview { get { return Format == "preview"; } }

        public static Asset Read(JsonObject j)
        {
            return new Asset
            {
                Name = j.GetString("name"), MediaType = j.GetString("mediaType"), Data = j.GetBytes("data"),
                Format = j.GetString("format"), Sha256 = j.GetString("sha256"),
            };
        }
    }

    public sealed class Timing
    {
        public string Stage;
        public double Milliseconds;
        public static Timing Read(JsonObject j) { return new Timing { Stage = j.GetString("stage"), Milliseconds = j.GetDouble("milliseconds") }; }
    }

    public sealed class Parameter
    {
        public string Name, Value;
        public static Parameter Read(JsonObject j) { return new Parameter { Name = j.GetString("name"), Value = j.GetString("value") }; }
    }

    public sealed class Final
    {
        public string Model, Version, ContentHash, ExecutionProvider;
        public ulong Seed;
        public List<Parameter> Parameters;
        public List<Timing> Timings;
        public uint Attempts, RepairedTiles, GeneratorVersion;

        /// <summary>The canonical text of a parameter as used (defaults filled in), or null.</summary>
        public string Parameter(string name)
        {
            foreach (var p in Parameters) if (p.Name == name) return p.Value;
            return null;
        }

        public static Final Read(JsonObject j)
        {
            return new Final
            {
                Model = j.GetString("model"), Version = j.GetString("version"), Seed = j.GetULong("seed"),
                Parameters = j.GetObjects("parameters", Client.Parameter.Read), ContentHash = j.GetString("contentHash"),
                Timings = j.GetObjects("timings", Timing.Read), ExecutionProvider = j.GetString("executionProvider"),
                Attempts = j.GetUInt("attempts"), RepairedTiles = j.GetUInt("repairedTiles"),
                GeneratorVersion = j.GetUInt("generatorVersion"),
            };
        }
    }

    /// <summary>One event of a Generate stream; exactly one of the members is set, as Type says.</summary>
    public sealed class GenerateEvent
    {
        public Progress Progress;
        public PartialContent Partial;
        public Asset Asset;
        public Final Final;
        public bool IsLast;

        public GenerateEventType Type
        {
            get
            {
                if (Progress != null) return GenerateEventType.Progress;
                if (Asset != null) return GenerateEventType.Asset;
                if (Final != null) return GenerateEventType.Final;
                if (Partial != null)
                {
                    if (Partial.LevelChunk != null) return GenerateEventType.LevelChunk;
                    if (Partial.MusicBar != null) return GenerateEventType.MusicBar;
                    if (Partial.TextDelta != null) return GenerateEventType.TextDelta;
                }
                return GenerateEventType.Unknown;
            }
        }

        public static GenerateEvent Read(JsonObject j)
        {
            var e = new GenerateEvent { IsLast = j.GetBool("isLast") };
            if (j.Has("progress")) e.Progress = Progress.Read(j.GetObject("progress"));
            else if (j.Has("partial")) e.Partial = PartialContent.Read(j.GetObject("partial"));
            else if (j.Has("asset")) e.Asset = Asset.Read(j.GetObject("asset"));
            else if (j.Has("final")) e.Final = Final.Read(j.GetObject("final"));
            return e;
        }
    }

    // ------------------------------------------------------------------------------------------
    // Sessions

    public sealed class DialogPersona
    {
        public string Name = "", Role = "", Mood = "", SpeechStyle = "";
        public List<string> Traits = new List<string>(), Knowledge = new List<string>(), Secrets = new List<string>();

        internal void Write(JsonWriter w)
        {
            w.BeginObject();
            w.Name("name").Value(Name ?? "").Name("role").Value(Role ?? "").Name("mood").Value(Mood ?? "")
             .Name("speechStyle").Value(SpeechStyle ?? "");
            Strings(w, "traits", Traits);
            Strings(w, "knowledge", Knowledge);
            Strings(w, "secrets", Secrets);
            w.EndObject();
        }

        internal static void Strings(JsonWriter w, string name, List<string> values)
        {
            if (values == null || values.Count == 0) return;
            w.Name(name).BeginArray();
            foreach (var v in values) w.Value(v);
            w.EndArray();
        }
    }

    public sealed class DialogSampling
    {
        public double? Temperature, TopP, RepetitionPenalty;
        public uint? MaxTokens;

        internal void Write(JsonWriter w)
        {
            w.BeginObject();
            if (Temperature.HasValue) w.Name("temperature").Value(Temperature.Value);
            if (TopP.HasValue) w.Name("topP").Value(TopP.Value);
            if (MaxTokens.HasValue) w.Name("maxTokens").Value((ulong)MaxTokens.Value);
            if (RepetitionPenalty.HasValue) w.Name("repetitionPenalty").Value(RepetitionPenalty.Value);
            w.EndObject();
        }
    }

    public sealed class DialogOpen
    {
        public DialogPersona Persona = new DialogPersona();
        public DialogSampling Sampling;
        public bool Structured;
        public List<string> Actions = new List<string>(), Emotions = new List<string>();

        internal void Write(JsonWriter w)
        {
            w.BeginObject();
            if (Persona != null) { w.Name("persona"); Persona.Write(w); }
            if (Sampling != null) { w.Name("sampling"); Sampling.Write(w); }
            if (Structured) w.Name("structured").Value(true);
            DialogPersona.Strings(w, "actions", Actions);
            DialogPersona.Strings(w, "emotions", Emotions);
            w.EndObject();
        }
    }

    public sealed class DialogTurn
    {
        public string PlayerLine = "";
        internal void Write(JsonWriter w) { w.BeginObject().Name("playerLine").Value(PlayerLine ?? "").EndObject(); }
    }

    public sealed class DialogReply
    {
        public string Line, Emotion, Action;
        public static DialogReply Read(JsonObject j)
        {
            return new DialogReply { Line = j.GetString("line"), Emotion = j.GetString("emotion"), Action = j.GetString("action") };
        }
    }

    /// <summary>A point or direction on the ground plane (metres; Unity x,z -> x,y).</summary>
    public sealed class Vec2
    {
        public double X, Y;
        public static Vec2 Read(JsonObject j) { return j == null ? new Vec2() : new Vec2 { X = j.GetDouble("x"), Y = j.GetDouble("y") }; }
    }

    /// <summary>One agent's decision for a tick of an NPC session.</summary>
    public sealed class NpcAction
    {
        public string AgentId, Name;
        public uint Action;
        public Vec2 Direction;
        public List<long> Discrete = new List<long>();
        public List<double> Continuous = new List<double>();

        public static NpcAction Read(JsonObject j)
        {
            var a = new NpcAction { AgentId = j.GetString("agentId"), Action = j.GetUInt("action"), Name = j.GetString("name"),
                                    Direction = Vec2.Read(j.GetObject("direction")) };
            foreach (var v in j.GetArray("discrete")) a.Discrete.Add(Convert.ToInt64(Number(v), CultureInfo.InvariantCulture));
            foreach (var v in j.GetArray("continuous")) a.Continuous.Add(Convert.ToDouble(Number(v), CultureInfo.InvariantCulture));
            return a;
        }

        static string Number(object v) { return v is JsonNumber ? ((JsonNumber)v).Text : Convert.ToString(v, CultureInfo.InvariantCulture); }
    }

    /// <summary>The actions of a packed tick (a tick that sent "block": one array per observation field),
    /// one array per field in the order of the block's agentIds: agent i's move direction is
    /// (Direction[2i], Direction[2i + 1]).</summary>
    public sealed class NpcActionBlock
    {
        public uint[] Action = new uint[0];
        public float[] Direction = new float[0];
        public int[] Discrete = new int[0];
        public float[] Continuous = new float[0];
        public uint DiscreteBranches, ContinuousDims;
        public List<string> Names = new List<string>();

        public static NpcActionBlock Read(JsonObject j)
        {
            if (j == null) return null;
            var b = new NpcActionBlock { DiscreteBranches = j.GetUInt("discreteBranches"), ContinuousDims = j.GetUInt("continuousDims"),
                                         Names = j.GetStrings("names") };
            var a = j.GetArray("action"); b.Action = new uint[a.Count];
            for (int i = 0; i < a.Count; i++) b.Action[i] = Convert.ToUInt32(Number(a[i]), CultureInfo.InvariantCulture);
            b.Direction = Floats(j.GetArray("direction"));
            var d = j.GetArray("discrete"); b.Discrete = new int[d.Count];
            for (int i = 0; i < d.Count; i++) b.Discrete[i] = Convert.ToInt32(Number(d[i]), CultureInfo.InvariantCulture);
            b.Continuous = Floats(j.GetArray("continuous"));
            return b;
        }

        static float[] Floats(List<object> v)
        {
            var f = new float[v.Count];
            for (int i = 0; i < v.Count; i++) f[i] = Convert.ToSingle(Number(v[i]), CultureInfo.InvariantCulture);
            return f;
        }

        static string Number(object v) { return v is JsonNumber ? ((JsonNumber)v).Text : Convert.ToString(v, CultureInfo.InvariantCulture); }
    }

    /// <summary>The answer to one NPC tick: an action per observed agent, in the order observed
    /// (Block instead, for a tick that sent its observations packed).</summary>
    public sealed class NpcActions
    {
        public List<NpcAction> Actions;
        public NpcActionBlock Block;
        public static NpcActions Read(JsonObject j)
        {
            return new NpcActions { Actions = j.GetObjects("actions", NpcAction.Read), Block = NpcActionBlock.Read(j.GetObject("block")) };
        }
    }

    /// <summary>Opens a session: a model that holds sessions (ListModels: sessions), a seed, and the
    /// kind's open message. Dialog has a typed one; a kind this client predates (NPC behaviour) is
    /// sent by name with its fields as a JSON object.</summary>
    public sealed class SessionOpen
    {
        public string Model;
        public ulong Seed;
        public DialogOpen Dialog;
        public string OtherKind;
        public JsonObject OtherParams;

        internal void Write(JsonWriter w)
        {
            w.BeginObject().Name("model").Value(Model ?? "").Name("seed").ValueInt64(Seed);
            if (Dialog != null) { w.Name("dialog"); Dialog.Write(w); }
            else if (OtherKind != null) { w.Name(OtherKind); WriteObject(w, OtherParams ?? new JsonObject()); }
            w.EndObject();
        }

        internal static void WriteObject(JsonWriter w, JsonObject o) { w.Write(o); }
    }

    public sealed class SessionInput
    {
        public ulong InputId;
        public DialogTurn Dialog;
        public string OtherKind;
        public JsonObject OtherInput;

        internal void Write(JsonWriter w)
        {
            w.BeginObject().Name("inputId").ValueInt64(InputId);
            if (Dialog != null) { w.Name("dialog"); Dialog.Write(w); }
            else if (OtherKind != null) { w.Name(OtherKind); SessionOpen.WriteObject(w, OtherInput ?? new JsonObject()); }
            w.EndObject();
        }
    }

    public sealed class SessionCancel
    {
        public ulong InputId;
        internal void Write(JsonWriter w) { w.BeginObject().Name("inputId").ValueInt64(InputId).EndObject(); }
    }

    public sealed class SessionClose
    {
        internal void Write(JsonWriter w) { w.BeginObject().EndObject(); }
    }

    /// <summary>One message from the client; set exactly one member.</summary>
    public sealed class SessionRequest
    {
        public SessionOpen Open;
        public SessionInput Input;
        public SessionCancel Cancel;
        public SessionClose Close;

        public string ToJson()
        {
            var w = new JsonWriter().BeginObject();
            if (Open != null) { w.Name("open"); Open.Write(w); }
            else if (Input != null) { w.Name("input"); Input.Write(w); }
            else if (Cancel != null) { w.Name("cancel"); Cancel.Write(w); }
            else if (Close != null) { w.Name("close"); Close.Write(w); }
            return w.EndObject().ToString();
        }
    }

    public sealed class SessionOpened
    {
        public string SessionId, Model, Version, ExecutionProvider;
        public List<Parameter> Parameters;

        public static SessionOpened Read(JsonObject j)
        {
            return new SessionOpened
            {
                SessionId = j.GetString("sessionId"), Model = j.GetString("model"), Version = j.GetString("version"),
                ExecutionProvider = j.GetString("executionProvider"), Parameters = j.GetObjects("parameters", Parameter.Read),
            };
        }
    }

    public sealed class InputEnd
    {
        public string StopReason;
        public List<Timing> Timings;
        public uint Tokens;

        public static InputEnd Read(JsonObject j)
        {
            return new InputEnd { StopReason = j.GetString("stopReason"), Timings = j.GetObjects("timings", Timing.Read), Tokens = j.GetUInt("tokens") };
        }
    }

    public sealed class SessionError
    {
        public string Code, Message;
        public static SessionError Read(JsonObject j) { return new SessionError { Code = j.GetString("code"), Message = j.GetString("message") }; }
    }

    public sealed class SessionClosed
    {
        public string Reason;
        public static SessionClosed Read(JsonObject j) { return new SessionClosed { Reason = j.GetString("reason") }; }
    }

    public enum SessionEventType { Unknown, Opened, Progress, TextDelta, Partial, End, Error, Closed, DialogReply, NpcActions, Other }

    /// <summary>One event of a session; InputId says which input caused it (0: the session's own).</summary>
    public sealed class SessionEvent
    {
        public ulong InputId;
        public SessionOpened Opened;
        public Progress Progress;
        public PartialContent Partial;
        public InputEnd End;
        public SessionError Error;
        public SessionClosed Closed;
        public DialogReply DialogReply;
        public NpcActions NpcActions;
        /// <summary>The whole event as received, for kind events this client predates (NPC actions).</summary>
        public JsonObject Raw;

        public SessionEventType Type
        {
            get
            {
                if (Opened != null) return SessionEventType.Opened;
                if (Progress != null) return SessionEventType.Progress;
                if (Partial != null) return Partial.TextDelta != null ? SessionEventType.TextDelta : SessionEventType.Partial;
                if (End != null) return SessionEventType.End;
                if (Error != null) return SessionEventType.Error;
                if (Closed != null) return SessionEventType.Closed;
                if (DialogReply != null) return SessionEventType.DialogReply;
                if (NpcActions != null) return SessionEventType.NpcActions;
                return SessionEventType.Other;
            }
        }

        /// <summary>The end of an input: its `end` or its `error`.</summary>
        public bool EndsInput { get { return End != null || Error != null; } }

        public static SessionEvent Read(JsonObject j)
        {
            var e = new SessionEvent { InputId = j.GetULong("inputId"), Raw = j };
            if (j.Has("opened")) e.Opened = SessionOpened.Read(j.GetObject("opened"));
            else if (j.Has("progress")) e.Progress = Progress.Read(j.GetObject("progress"));
            else if (j.Has("partial")) e.Partial = PartialContent.Read(j.GetObject("partial"));
            else if (j.Has("end")) e.End = InputEnd.Read(j.GetObject("end"));
            else if (j.Has("error")) e.Error = SessionError.Read(j.GetObject("error"));
            else if (j.Has("closed")) e.Closed = SessionClosed.Read(j.GetObject("closed"));
            else if (j.Has("dialogReply")) e.DialogReply = DialogReply.Read(j.GetObject("dialogReply"));
            else if (j.Has("npcActions")) e.NpcActions = NpcActions.Read(j.GetObject("npcActions"));
            return e;
        }
    }
}
