using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace GameGen.Client
{
    /// <summary>A file parameter of a recipe (an exemplar image, a MIDI file to continue), by path;
    /// in bake.toml the path is relative to the bake file.</summary>
    public sealed class BakeFile
    {
        public readonly string Path;
        public BakeFile(string path) { Path = path; }
    }

    /// <summary>One [[asset]] of a bake file: an output folder name, a model, a seed, parameters by
    /// name, formats (empty: the [defaults] rule).</summary>
    public sealed class BakeAsset
    {
        public string Name, Model;
        public ulong Seed;
        public List<KeyValuePair<string, object>> Params = new List<KeyValuePair<string, object>>();
        public List<string> Formats = new List<string>();

        /// <summary>The request this asset makes (file parameters read by readFile).</summary>
        public GenerateRequest ToRequest(Func<string, byte[]> readFile)
        {
            var r = new GenerateRequest(Model, Seed);
            r.Formats.AddRange(Formats);
            foreach (var kv in Params)
            {
                var file = kv.Value as BakeFile;
                r.Set(kv.Key, file != null ? readFile(file.Path) : kv.Value);
            }
            return r;
        }
    }

    /// <summary>The recipe behind baked assets, as `gamegen bake` reads it (bake.toml): the editor's
    /// recipe asset keeps one, and ToToml writes the file a build pipeline bakes the same assets from
    /// (`gamegen bake bake.toml --out Assets/Generated`).</summary>
    public sealed class BakeRecipe
    {
        public List<string> DefaultFormats = new List<string>();
        public List<BakeAsset> Assets = new List<BakeAsset>();

        public string ToToml()
        {
            var sb = new StringBuilder("# Written by the GameGen Unity package; bake with: gamegen bake bake.toml --out Assets/Generated\n");
            if (DefaultFormats.Count > 0) sb.Append("\n[defaults]\nformats = ").Append(Array(DefaultFormats)).Append('\n');
            foreach (var a in Assets)
            {
                sb.Append("\n[[asset]]\n");
                sb.Append("name = ").Append(Quote(a.Name)).Append('\n');
                sb.Append("model = ").Append(Quote(a.Model)).Append('\n');
                sb.Append("seed = ").Append(a.Seed.ToString(CultureInfo.InvariantCulture)).Append('\n');
                if (a.Params.Count > 0)
                {
                    sb.Append("params = { ");
                    for (int i = 0; i < a.Params.Count; i++)
                    {
                        if (i > 0) sb.Append(", ");
                        sb.Append(Key(a.Params[i].Key)).Append(" = ").Append(Value(a.Params[i].Value));
                    }
                    sb.Append(" }\n");
                }
                if (a.Formats.Count > 0) sb.Append("formats = ").Append(Array(a.Formats)).Append('\n');
            }
            return sb.ToString();
        }

        static string Array(List<string> values)
        {
            var parts = new List<string>();
            foreach (var v in values) parts.Add(Quote(v));
            return "[" + string.Join(", ", parts.ToArray()) + "]";
        }

        static string Key(string key)
        {
            foreach (var c in key)
                if (!(char.IsLetterOrDigit(c) || c == '_' || c == '-')) return Quote(key);
            return key;
        }

        static string Value(object v)
        {
            var file = v as BakeFile;
            if (file != null) return Quote(file.Path);
            if (v is string) return Quote((string)v);
            if (v is bool) return (bool)v ? "true" : "false";
            if (v is double || v is float)
            {
                var d = Convert.ToDouble(v, CultureInfo.InvariantCulture);
                if (double.IsNaN(d) || double.IsInfinity(d)) throw new ArgumentException("a parameter cannot be " + d);
                var text = d.ToString("R", CultureInfo.InvariantCulture);
                return text.IndexOf('.') >= 0 || text.IndexOf('E') >= 0 ? text.Replace("E", "e") : text + ".0";
            }
            if (v is byte[]) throw new ArgumentException("a file parameter in a recipe is a BakeFile (a path), not bytes");
            return Convert.ToString(v, CultureInfo.InvariantCulture);  // integers
        }

        static string Quote(string s)
        {
            var sb = new StringBuilder("\"");
            foreach (var c in s ?? "")
            {
                if (c == '"' || c == '\\') sb.Append('\\').Append(c);
                else if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                else sb.Append(c);
            }
            return sb.Append('"').ToString();
        }
    }
}
