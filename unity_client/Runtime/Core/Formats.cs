// Engine-neutral readers for the assets the Unity converters turn into engine objects. They hold the
// parts that can be wrong in subtle ways (byte order, row order, 16-bit samples, Tiled's gids) and are
// tested against the server's own files; Runtime/Unity only copies their results into Unity types.
using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Text;
using GameGen.Client.Json;

namespace GameGen.Client.Formats
{
    /// <summary>A greyscale image as 16-bit samples, row 0 first (the file's top row).</summary>
    public sealed class Gray16
    {
        public int Width, Height;
        public ushort[] Samples;
    }

    /// <summary>Reads 16-bit greyscale PNGs (the heightmaps), which Texture2D.LoadImage would reduce to
    /// 8 bits on some Unity versions. Only what the server writes: bit depth 16, colour type 0, no
    /// interlacing; anything else is refused with a message.</summary>
    public static class Png
    {
        static readonly byte[] Signature = { 137, 80, 78, 71, 13, 10, 26, 10 };

        public static bool Is16BitGray(byte[] png)
        {
            return png != null && png.Length > 26 && HasSignature(png) && png[24] == 16 && png[25] == 0;
        }

        static bool HasSignature(byte[] png)
        {
            for (int i = 0; i < 8; i++) if (png[i] != Signature[i]) return false;
            return true;
        }

        public static Gray16 DecodeGray16(byte[] png)
        {
            if (png == null || png.Length < 33 || !HasSignature(png)) throw new FormatException("not a PNG file");
            int pos = 8, width = 0, height = 0;
            var idat = new MemoryStream();
            while (pos + 8 <= png.Length)
            {
                int length = BigEndian32(png, pos);
                string type = Encoding.ASCII.GetString(png, pos + 4, 4);
                int data = pos + 8;
                if (length < 0 || data + length > png.Length) throw new FormatException("truncated PNG chunk " + type);
                if (type == "IHDR")
                {
                    width = BigEndian32(png, data);
                    height = BigEndian32(png, data + 4);
                    byte depth = png[data + 8], colour = png[data + 9], interlace = png[data + 12];
                    if (depth != 16 || colour != 0 || interlace != 0)
                        throw new FormatException(string.Format("PNG is bit depth {0}, colour type {1}, interlace {2}; expected 16-bit greyscale, not interlaced", depth, colour, interlace));
                }
                else if (type == "IDAT") idat.Write(png, data, length);
                else if (type == "IEND") break;
                pos = data + length + 4;  // + CRC
            }
            if (width <= 0 || height <= 0) throw new FormatException("PNG has no IHDR");
            idat.Position = 2;  // zlib header; DeflateStream reads the raw deflate data after it
            int stride = width * 2;
            var raw = new byte[(stride + 1) * height];
            using (var inflate = new DeflateStream(idat, CompressionMode.Decompress))
            {
                int read = 0, n;
                while (read < raw.Length && (n = inflate.Read(raw, read, raw.Length - read)) > 0) read += n;
                if (read != raw.Length) throw new FormatException("PNG image data is shorter than " + width + "x" + height);
            }
            var samples = new ushort[width * height];
            var prev = new byte[stride];
            var row = new byte[stride];
            for (int y = 0; y < height; y++)
            {
                int f = (stride + 1) * y;
                byte filter = raw[f];
                Buffer.BlockCopy(raw, f + 1, row, 0, stride);
                Unfilter(filter, row, prev, 2);
                for (int x = 0; x < width; x++) samples[y * width + x] = (ushort)((row[2 * x] << 8) | row[2 * x + 1]);
                var t = prev; prev = row; row = t;
            }
            return new Gray16 { Width = width, Height = height, Samples = samples };
        }

        static void Unfilter(byte filter, byte[] row, byte[] prev, int bpp)
        {
            switch (filter)
            {
                case 0: return;
                case 1: for (int i = bpp; i < row.Length; i++) row[i] += row[i - bpp]; return;
                case 2: for (int i = 0; i < row.Length; i++) row[i] += prev[i]; return;
                case 3:
                    for (int i = 0; i < row.Length; i++) row[i] += (byte)(((i >= bpp ? row[i - bpp] : 0) + prev[i]) >> 1);
                    return;
                case 4:
                    for (int i = 0; i < row.Length; i++)
                    {
                        int a = i >= bpp ? row[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
                        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
                        row[i] += (byte)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
                    }
                    return;
                default: throw new FormatException("unknown PNG filter " + filter);
            }
        }

        static int BigEndian32(byte[] b, int i) { return (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]; }
    }

    /// <summary>Unity's raw terrain format as the server writes it (heightmap.raw): N x N 16-bit
    /// little-endian samples, row by row; row 0 goes at terrain z = 0.</summary>
    public static class RawHeightmap
    {
        /// <summary>Heights 0..1 indexed [row, column], as TerrainData.SetHeights takes them.</summary>
        public static float[,] Decode(byte[] raw, out int size)
        {
            int samples = raw.Length / 2;
            size = (int)Math.Round(Math.Sqrt(samples));
            if (raw.Length % 2 != 0 || size * size != samples)
                throw new FormatException(raw.Length + " bytes is not a square of 16-bit samples");
            var heights = new float[size, size];
            for (int r = 0, i = 0; r < size; r++)
                for (int c = 0; c < size; c++, i += 2)
                    heights[r, c] = (raw[i] | (raw[i + 1] << 8)) / 65535f;
            return heights;
        }
    }

    /// <summary>PCM WAV (the music previews and stems: 16-bit) as interleaved floats -1..1.</summary>
    public sealed class Wav
    {
        public int Channels, SampleRate;
        public float[] Samples;

        public int Frames { get { return Samples.Length / Math.Max(1, Channels); } }

        public static Wav Decode(byte[] wav)
        {
            if (wav == null || wav.Length < 44 || Encoding.ASCII.GetString(wav, 0, 4) != "RIFF" || Encoding.ASCII.GetString(wav, 8, 4) != "WAVE")
                throw new FormatException("not a RIFF/WAVE file");
            int pos = 12, channels = 0, rate = 0, bits = 0, format = 0;
            while (pos + 8 <= wav.Length)
            {
                string id = Encoding.ASCII.GetString(wav, pos, 4);
                int length = BitConverter.ToInt32(wav, pos + 4);
                int data = pos + 8;
                if (id == "fmt ")
                {
                    format = BitConverter.ToUInt16(wav, data);
                    channels = BitConverter.ToUInt16(wav, data + 2);
                    rate = BitConverter.ToInt32(wav, data + 4);
                    bits = BitConverter.ToUInt16(wav, data + 14);
                }
                else if (id == "data")
                {
                    if (format != 1 || bits != 16) throw new FormatException("WAV is format " + format + ", " + bits + " bits; expected 16-bit PCM");
                    length = Math.Min(length, wav.Length - data);
                    var samples = new float[length / 2];
                    for (int i = 0; i < samples.Length; i++) samples[i] = BitConverter.ToInt16(wav, data + 2 * i) / 32768f;
                    return new Wav { Channels = channels, SampleRate = rate, Samples = samples };
                }
                pos = data + length + (length & 1);
            }
            throw new FormatException("WAV has no data chunk");
        }
    }

    /// <summary>A Tiled JSON map (level.tmj): its tile layers as gids, row 0 = the top row.</summary>
    public sealed class TiledMap
    {
        public int Width, Height, TileWidth, TileHeight;
        public List<TiledLayer> Layers = new List<TiledLayer>();
        public List<KeyValuePair<int, string>> Tilesets = new List<KeyValuePair<int, string>>();  // firstgid, source

        public static TiledMap Parse(byte[] tmj)
        {
            var j = JsonParser.ParseObject(Encoding.UTF8.GetString(tmj));
            var map = new TiledMap
            {
                Width = (int)j.GetUInt("width"), Height = (int)j.GetUInt("height"),
                TileWidth = (int)j.GetUInt("tilewidth"), TileHeight = (int)j.GetUInt("tileheight"),
            };
            foreach (var t in j.GetObjects("tilesets", o => o))
                map.Tilesets.Add(new KeyValuePair<int, string>((int)t.GetUInt("firstgid"), t.GetString("source")));
            foreach (var l in j.GetObjects("layers", o => o))
            {
                if (l.GetString("type") != "tilelayer") continue;
                var data = l.GetArray("data");
                var gids = new uint[data.Count];
                for (int i = 0; i < gids.Length; i++) gids[i] = uint.Parse(((JsonNumber)data[i]).Text, System.Globalization.CultureInfo.InvariantCulture);
                map.Layers.Add(new TiledLayer { Name = l.GetString("name"), Width = (int)l.GetUInt("width"), Height = (int)l.GetUInt("height"), Gids = gids });
            }
            return map;
        }

        /// <summary>The local tile id at (column, row from the top) of a layer, -1 for no tile (gid 0).
        /// Tiled's flip flags (the top 3 bits) are masked off.</summary>
        public int TileAt(TiledLayer layer, int column, int row)
        {
            uint gid = layer.Gids[row * layer.Width + column] & 0x1FFFFFFFu;
            if (gid == 0) return -1;
            int first = 1;
            foreach (var t in Tilesets) if (t.Key <= gid) first = t.Key;
            return (int)gid - first;
        }
    }

    public sealed class TiledLayer
    {
        public string Name;
        public int Width, Height;
        public uint[] Gids;
    }

    /// <summary>A Tiled tileset (smb.tsj): how the tile image is cut, and each tile's properties.</summary>
    public sealed class TiledTileset
    {
        public int TileWidth, TileHeight, Columns, TileCount, Margin, Spacing;
        public string Image;
        public Dictionary<int, Dictionary<string, string>> Properties = new Dictionary<int, Dictionary<string, string>>();

        public static TiledTileset Parse(byte[] tsj)
        {
            var j = JsonParser.ParseObject(Encoding.UTF8.GetString(tsj));
            var t = new TiledTileset
            {
                TileWidth = (int)j.GetUInt("tilewidth"), TileHeight = (int)j.GetUInt("tileheight"),
                Columns = (int)j.GetUInt("columns"), TileCount = (int)j.GetUInt("tilecount"),
                Margin = (int)j.GetUInt("margin"), Spacing = (int)j.GetUInt("spacing"), Image = j.GetString("image"),
            };
            foreach (var tile in j.GetObjects("tiles", o => o))
            {
                var props = new Dictionary<string, string>();
                foreach (var p in tile.GetObjects("properties", o => o))
                {
                    var v = p.Find("value");
                    props[p.GetString("name")] = v is JsonNumber ? ((JsonNumber)v).Text : v is bool ? ((bool)v ? "true" : "false") : Convert.ToString(v);
                }
                t.Properties[(int)tile.GetUInt("id")] = props;
            }
            return t;
        }

        /// <summary>Pixel rectangle (x, y from the image's top, w, h) of a local tile id.</summary>
        public void Rect(int id, out int x, out int y)
        {
            x = Margin + (id % Columns) * (TileWidth + Spacing);
            y = Margin + (id / Columns) * (TileHeight + Spacing);
        }
    }
}
