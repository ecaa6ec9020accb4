// The JSON the client reads and writes: protobuf's JSON mapping of the gamegen.v1 messages, as the
// HTTP/WebSocket gateway sends it (lowerCamelCase names, 64-bit integers as strings, bytes as
// base64, enums by name, absent fields at their defaults).
//
// Hand-written on purpose, and kept to a reader, a writer and typed getters: it is the one JSON path
// that behaves the same in the editor, in Mono and IL2CPP players and on WebGL. It uses no reflection
// (IL2CPP's stripping and AOT rules break reflection-based serializers such as DataContract- or
// Newtonsoft-based ones without link.xml care), no NuGet package and nothing newer than C# 7.2.
// Unity's JsonUtility cannot read oneofs or tell an absent field from a zero.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace GameGen.Client.Json
{
    /// <summary>A JSON number kept as its text, so 64-bit values lose nothing.</summary>
    public sealed class JsonNumber
    {
        public readonly string Text;
        public JsonNumber(string text) { Text = text; }
        public override string ToString() { return Text; }
    }

    /// <summary>A JSON object. Getters take the lowerCamelCase name and also accept the proto
    /// (snake_case) spelling; a missing field reads as the proto3 default.</summary>
    public sealed class JsonObject : Dictionary<string, object>
    {
        public JsonObject() : base(StringComparer.Ordinal) { }

        public bool Has(string name) { object v; return TryFind(name, out v) && v != null; }

        public object Find(string name) { object v; TryFind(name, out v); return v; }

        bool TryFind(string name, out object value)
        {
            if (TryGetValue(name, out value)) return true;
            var snake = ToSnake(name);
            return snake != name && TryGetValue(snake, out value);
        }

        static string ToSnake(string camel)
        {
            var sb = new StringBuilder(camel.Length + 4);
            foreach (var c in camel)
            {
                if (char.IsUpper(c)) { sb.Append('_'); sb.Append(char.ToLowerInvariant(c)); }
                else sb.Append(c);
            }
            return sb.ToString();
        }

        public string GetString(string name)
        {
            var v = Find(name);
            if (v == null) return "";
            var s = v as string;
            if (s != null) return s;
            throw Bad(name, v, "a string");
        }

        public bool GetBool(string name)
        {
            var v = Find(name);
            if (v == null) return false;
            if (v is bool) return (bool)v;
            throw Bad(name, v, "true or false");
        }

        public double GetDouble(string name)
        {
            var v = Find(name);
            if (v == null) return 0;
            var text = v is JsonNumber ? ((JsonNumber)v).Text : v as string;  // "NaN", "Infinity" are strings
            if (text == "NaN") return double.NaN;
            if (text == "Infinity") return double.PositiveInfinity;
            if (text == "-Infinity") return double.NegativeInfinity;
            double d;
            if (text != null && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out d)) return d;
            throw Bad(name, v, "a number");
        }

        public ulong GetULong(string name)
        {
            var v = Find(name);
            if (v == null) return 0;
            var text = v is JsonNumber ? ((JsonNumber)v).Text : v as string;  // int64 travels as a string
            ulong u;
            if (text != null && ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out u)) return u;
            double d;  // protobuf accepts 1e3 or 7.0 for integers too
            if (text != null && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out d)
                && d >= 0 && d == Math.Floor(d) && d < 18446744073709551616.0) return (ulong)d;
            throw Bad(name, v, "an unsigned integer");
        }

        public uint GetUInt(string name)
        {
            var u = GetULong(name);
            if (u > uint.MaxValue) throw Bad(name, u, "a 32-bit unsigned integer");
            return (uint)u;
        }

        public long GetLong(string name)
        {
            var v = Find(name);
            if (v == null) return 0;
            var text = v is JsonNumber ? ((JsonNumber)v).Text : v as string;
            long l;
            if (text != null && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out l)) return l;
            throw Bad(name, v, "an integer");
        }

        public byte[] GetBytes(string name)
        {
            var s = GetString(name);
            if (s.Length == 0) return new byte[0];
            // protobuf writes standard base64 and accepts the URL-safe alphabet, with or without padding
            if (s.IndexOf('-') >= 0 || s.IndexOf('_') >= 0) s = s.Replace('-', '+').Replace('_', '/');
            if (s.Length % 4 != 0) s = s.PadRight(s.Length + 4 - s.Length % 4, '=');
            return Convert.FromBase64String(s);
        }

        public JsonObject GetObject(string name)
        {
            var v = Find(name);
            if (v == null) return null;
            var o = v as JsonObject;
            if (o != null) return o;
            throw Bad(name, v, "an object");
        }

        public List<object> GetArray(string name)
        {
            var v = Find(name);
            if (v == null) return new List<object>();
            var a = v as List<object>;
            if (a != null) return a;
            throw Bad(name, v, "an array");
        }

        public List<string> GetStrings(string name)
        {
            var list = new List<string>();
            foreach (var item in GetArray(name))
            {
                var s = item as string;
                if (s == null) throw Bad(name, item, "an array of strings");
                list.Add(s);
            }
            return list;
        }

        public List<T> GetObjects<T>(string name, Func<JsonObject, T> read)
        {
            var list = new List<T>();
            foreach (var item in GetArray(name))
            {
                var o = item as JsonObject;
                if (o == null) throw Bad(name, item, "an array of objects");
                list.Add(read(o));
            }
            return list;
        }

        static FormatException Bad(string name, object value, string expected)
        {
            return new FormatException(string.Format(CultureInfo.InvariantCulture,
                "JSON field {0} is {1}; expected {2}", name, value is JsonObject ? "an object" : Convert.ToString(value, CultureInfo.InvariantCulture), expected));
        }
    }

    /// <summary>Parses one JSON text into JsonObject, List&lt;object&gt;, string, JsonNumber, bool or null.</summary>
    public static class JsonParser
    {
        public static object Parse(string text)
        {
            int i = 0;
            var value = ReadValue(text, ref i, 0);
            SkipSpace(text, ref i);
            if (i != text.Length) throw Error(text, i, "text after the JSON value");
            return value;
        }

        public static JsonObject ParseObject(string text)
        {
            var o = Parse(text) as JsonObject;
            if (o == null) throw new FormatException("expected a JSON object");
            return o;
        }

        static void SkipSpace(string s, ref int i)
        {
            while (i < s.Length && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
        }

        static object ReadValue(string s, ref int i, int depth)
        {
            if (depth > 64) throw Error(s, i, "nesting deeper than 64");
            SkipSpace(s, ref i);
            if (i >= s.Length) throw Error(s, i, "end of text");
            char c = s[i];
            if (c == '{')
            {
                var o = new JsonObject();
                i++;
                SkipSpace(s, ref i);
                if (i < s.Length && s[i] == '}') { i++; return o; }
                while (true)
                {
                    SkipSpace(s, ref i);
                    if (i >= s.Length || s[i] != '"') throw Error(s, i, "a field name");
                    var key = ReadString(s, ref i);
                    SkipSpace(s, ref i);
                    if (i >= s.Length || s[i] != ':') throw Error(s, i, "':'");
                    i++;
                    o[key] = ReadValue(s, ref i, depth + 1);
                    SkipSpace(s, ref i);
                    if (i < s.Length && s[i] == ',') { i++; continue; }
                    if (i < s.Length && s[i] == '}') { i++; return o; }
                    throw Error(s, i, "',' or '}'");
                }
            }
            if (c == '[')
            {
                var a = new List<object>();
                i++;
                SkipSpace(s, ref i);
                if (i < s.Length && s[i] == ']') { i++; return a; }
                while (true)
                {
                    a.Add(ReadValue(s, ref i, depth + 1));
                    SkipSpace(s, ref i);
                    if (i < s.Length && s[i] == ',') { i++; continue; }
                    if (i < s.Length && s[i] == ']') { i++; return a; }
                    throw Error(s, i, "',' or ']'");
                }
            }
            if (c == '"') return ReadString(s, ref i);
            if (Word(s, ref i, "true")) return true;
            if (Word(s, ref i, "false")) return false;
            if (Word(s, ref i, "null")) return null;
            int start = i;
            if (i < s.Length && s[i] == '-') i++;
            while (i < s.Length && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == 'e' || s[i] == 'E' || s[i] == '+' || s[i] == '-')) i++;
            if (i == start) throw Error(s, i, "a value");
            return new JsonNumber(s.Substring(start, i - start));
        }

        static bool Word(string s, ref int i, string word)
        {
            if (string.CompareOrdinal(s, i, word, 0, word.Length) != 0) return false;
            i += word.Length;
            return true;
        }

        static string ReadString(string s, ref int i)
        {
            i++;  // opening quote
            int end = s.IndexOf('"', i);
            if (end < 0) throw Error(s, i, "a closing quote");
            int slash = s.IndexOf('\\', i, end - i);
            if (slash < 0)
            {   // the common case (base64 assets, names): no escapes, one copy
                var plain = s.Substring(i, end - i);
                i = end + 1;
                return plain;
            }
            var sb = new StringBuilder(end - i + 16);
            while (true)
            {
                if (i >= s.Length) throw Error(s, i, "a closing quote");
                char c = s[i++];
                if (c == '"') return sb.ToString();
                if (c != '\\') { sb.Append(c); continue; }
                if (i >= s.Length) throw Error(s, i, "an escape");
                char e = s[i++];
                switch (e)
                {
                    case '"': sb.Append('"'); break;
                    case '\\': sb.Append('\\'); break;
                    case '/': sb.Append('/'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'n': sb.Append('\n'); break;
                    case 'r': sb.Append('\r'); break;
                    case 't': sb.Append('\t'); break;
                    case 'u':
                        if (i + 4 > s.Length) throw Error(s, i, "four hex digits");
                        sb.Append((char)int.Parse(s.Substring(i, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                        i += 4;
                        break;
                    default: throw Error(s, i, "a valid escape");
                }
            }
        }

        static FormatException Error(string s, int i, string expected)
        {
            return new FormatException(string.Format(CultureInfo.InvariantCulture,
                "bad JSON at character {0}: expected {1}", i, expected));
        }
    }

    /// <summary>Writes compact JSON; names are written as given (lowerCamelCase).</summary>
    public sealed class JsonWriter
    {
        readonly StringBuilder sb = new StringBuilder(256);
        readonly Stack<bool> first = new Stack<bool>();

        public JsonWriter BeginObject() { Comma(); sb.Append('{'); first.Push(true); return this; }
        public JsonWriter EndObject() { sb.Append('}'); first.Pop(); return this; }
        public JsonWriter BeginArray() { Comma(); sb.Append('['); first.Push(true); return this; }
        public JsonWriter EndArray() { sb.Append(']'); first.Pop(); return this; }

        bool afterName;

        void Comma()
        {
            if (afterName) { afterName = false; return; }
            if (first.Count == 0) return;
            if (first.Peek()) { first.Pop(); first.Push(false); }
            else sb.Append(',');
        }

        public JsonWriter Name(string name) { Comma(); WriteString(name); sb.Append(':'); afterName = true; return this; }

        public JsonWriter Value(string v) { Comma(); WriteString(v); return this; }
        public JsonWriter Value(bool v) { Comma(); sb.Append(v ? "true" : "false"); return this; }
        public JsonWriter Value(long v) { Comma(); sb.Append(v.ToString(CultureInfo.InvariantCulture)); return this; }
        public JsonWriter Value(ulong v) { Comma(); sb.Append(v.ToString(CultureInfo.InvariantCulture)); return this; }
        public JsonWriter Value(byte[] v) { Comma(); sb.Append('"').Append(Convert.ToBase64String(v)).Append('"'); return this; }
        /// <summary>64-bit integers are written as strings, as protobuf's JSON mapping does.</summary>
        public JsonWriter ValueInt64(ulong v) { Comma(); sb.Append('"').Append(v.ToString(CultureInfo.InvariantCulture)).Append('"'); return this; }

        public JsonWriter Value(double v)
        {
            Comma();
            if (double.IsNaN(v)) sb.Append("\"NaN\"");
            else if (double.IsPositiveInfinity(v)) sb.Append("\"Infinity\"");
            else if (double.IsNegativeInfinity(v)) sb.Append("\"-Infinity\"");
            else sb.Append(v.ToString("R", CultureInfo.InvariantCulture));
            return this;
        }

        /// <summary>A parameter value: string, bool, any integer or float type, or byte[].</summary>
        public JsonWriter Any(object v)
        {
            if (v is string) return Value((string)v);
            if (v is bool) return Value((bool)v);
            if (v is byte[]) return Value((byte[])v);
            if (v is double) return Value((double)v);
            if (v is float) return Value((double)(float)v);
            if (v is decimal) return Value((double)(decimal)v);
            if (v is ulong) return Value((ulong)v);
            if (v is int || v is long || v is short || v is sbyte) return Value(Convert.ToInt64(v, CultureInfo.InvariantCulture));
            if (v is uint || v is ushort || v is byte) return Value(Convert.ToUInt64(v, CultureInfo.InvariantCulture));
            throw new ArgumentException("a parameter value must be a string, bool, number or byte[]; got "
                                        + (v == null ? "null" : v.GetType().Name));
        }

        /// <summary>Any parsed JSON value (JsonObject, List, JsonNumber, string, bool, null) or a
        /// parameter value, written as JSON.</summary>
        public JsonWriter Write(object v)
        {
            if (v == null) { Comma(); sb.Append("null"); return this; }
            var o = v as JsonObject;
            if (o != null)
            {
                BeginObject();
                foreach (var kv in o) { Name(kv.Key); Write(kv.Value); }
                return EndObject();
            }
            var n = v as JsonNumber;
            if (n != null) { Comma(); sb.Append(n.Text); return this; }
            var list = v as System.Collections.IList;
            if (list != null && !(v is byte[]))
            {
                BeginArray();
                foreach (var item in list) Write(item);
                return EndArray();
            }
            return Any(v);
        }

        public static string Serialize(object v) { return new JsonWriter().Write(v).ToString(); }

        void WriteString(string s)
        {
            sb.Append('"');
            foreach (var c in s)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    default:
                        if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        else sb.Append(c);
                        break;
                }
            }
            sb.Append('"');
        }

        public override string ToString() { return sb.ToString(); }
    }
}
