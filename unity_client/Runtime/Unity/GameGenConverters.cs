// Streamed assets -> Unity objects. Everything format-specific (16-bit PNG samples, raw byte order,
// WAV samples, Tiled gids and row order) is read by the engine-neutral readers in Runtime/Core, which
// are tested against the server's files; this file only copies their results into Unity types.
// Call these on the main thread (Unity objects are created here).
using System;
using System.Threading.Tasks;
using GameGen.Client;
using GameGen.Client.Formats;
using UnityEngine;
using UnityEngine.Tilemaps;

namespace GameGen.Unity
{
    public static class GameGenConverters
    {
        /// <summary>A PNG asset as a texture. 16-bit greyscale PNGs (height, heightmap) stay 16-bit:
        /// an R16 texture, linear. Colour maps (albedo, previews, flipbooks) are sRGB; data maps
        /// (normals, roughness, AO, splat) are linear, as the asset's format says.</summary>
        public static Texture2D ToTexture(Asset asset, bool mipmaps = true)
        {
            Texture2D texture;
            if (Png.Is16BitGray(asset.Data))
            {
                var gray = Png.DecodeGray16(asset.Data);
                texture = new Texture2D(gray.Width, gray.Height, TextureFormat.R16, mipmaps, true);
                // Texture rows go bottom-up in Unity; the file's row 0 is its top row
                var flipped = new ushort[gray.Samples.Length];
                for (int y = 0; y < gray.Height; y++)
                    Array.Copy(gray.Samples, y * gray.Width, flipped, (gray.Height - 1 - y) * gray.Width, gray.Width);
                texture.SetPixelData(flipped, 0);
                texture.Apply(mipmaps, false);
            }
            else
            {
                texture = new Texture2D(2, 2, TextureFormat.RGBA32, mipmaps, IsLinear(asset.Format));
                if (!texture.LoadImage(asset.Data, false))
                    throw new GameGenException(StatusCode.InvalidArgument, asset.Name + " is not a PNG or JPEG image");
            }
            texture.name = asset.Name;
            // maps and surfaces tile; sprite flipbooks have a transparent margin in every frame, so Repeat
            // is harmless for them too
            texture.wrapMode = TextureWrapMode.Repeat;
            return texture;
        }

        /// <summary>Formats whose pixels are data, not colour.</summary>
        public static bool IsLinear(string format)
        {
            switch (format)
            {
                case "normal_gl": case "normal_dx": case "height": case "heightmap": case "roughness":
                case "ao": case "splat": return true;
                default: return false;
            }
        }

        /// <summary>A normal map for Unity's shaders: normal_gl (green up, Unity's convention), linear,
        /// alpha opaque so UnpackNormal reads it on every platform. In the editor, baked normal maps are
        /// imported with TextureImporterType.NormalMap instead (see GameGenAssetPostprocessor).</summary>
        public static Texture2D ToNormalMap(Asset asset)
        {
            if (asset.Format == "normal_dx")
                Debug.LogWarning("GameGen: " + asset.Name + " is a DirectX normal map (green down); Unity expects normal_gl");
            return ToTexture(asset);
        }

        /// <summary>music.wav, a stem or a preview as an AudioClip.</summary>
        public static AudioClip ToAudioClip(Asset asset)
        {
            var wav = Wav.Decode(asset.Data);
            var clip = AudioClip.Create(asset.Name, wav.Frames, wav.Channels, wav.SampleRate, false);
            clip.SetData(wav.Samples, 0);
            return clip;
        }

        /// <summary>heightmap.raw as TerrainData: size = (N-1)*cellSize x heightRange x (N-1)*cellSize,
        /// the raw file's first row at z = 0, so chunk (cx, cy) placed at (cx, cy)*(N-1)*cellSize meets
        /// its neighbours exactly. Pass the request's height_range and cell_size.</summary>
        public static TerrainData ToTerrainData(Asset raw, float heightRange, float cellSize)
        {
            int size;
            var heights = RawHeightmap.Decode(raw.Data, out size);
            var data = new TerrainData { heightmapResolution = size };
            data.size = new Vector3((size - 1) * cellSize, heightRange, (size - 1) * cellSize);
            data.SetHeights(0, 0, heights);
            return data;
        }

        /// <summary>Fills a Tilemap from level.tmj: one Unity tile per Tiled tile id (tiles[id], null
        /// leaves a cell empty). Tiled's row 0 is the top, so row r goes to cell y = height - 1 - r.
        /// <see cref="SliceTiles"/> makes the tiles from the tileset image the stream carries.</summary>
        public static void ToTilemap(Asset tmj, Tilemap target, TileBase[] tiles)
        {
            var map = TiledMap.Parse(tmj.Data);
            target.ClearAllTiles();
            foreach (var layer in map.Layers)
                for (int r = 0; r < layer.Height; r++)
                    for (int c = 0; c < layer.Width; c++)
                    {
                        int id = map.TileAt(layer, c, r);
                        if (id >= 0 && id < tiles.Length && tiles[id] != null)
                            target.SetTile(new Vector3Int(c, layer.Height - 1 - r, 0), tiles[id]);
                    }
        }

        /// <summary>Tiles cut from the tileset (smb.tsj + smb-tiles.png), one unit per tile.</summary>
        public static Tile[] SliceTiles(Asset tsj, Asset image)
        {
            var set = TiledTileset.Parse(tsj.Data);
            var texture = ToTexture(image, false);
            texture.filterMode = FilterMode.Point;
            var tiles = new Tile[set.TileCount];
            for (int id = 0; id < set.TileCount; id++)
            {
                int x, y;
                set.Rect(id, out x, out y);
                var rect = new Rect(x, texture.height - y - set.TileHeight, set.TileWidth, set.TileHeight);
                var tile = ScriptableObject.CreateInstance<Tile>();
                tile.sprite = Sprite.Create(texture, rect, new Vector2(0.5f, 0.5f), set.TileWidth);
                tile.name = "tile " + id;
                tiles[id] = tile;
            }
            return tiles;
        }

        /// <summary>A GLB (a level's blocks, a terrain tile) instantiated under parent, through glTFast
        /// when the project has it (com.unity.cloud.gltfast; the GAMEGEN_GLTFAST define is set by the
        /// runtime asmdef's versionDefines).</summary>
        public static async Task<bool> InstantiateGlbAsync(Asset glb, Transform parent)
        {
#if GAMEGEN_GLTFAST
            var import = new GLTFast.GltfImport();
            if (!await import.LoadGltfBinary(glb.Data)) return false;
            return await import.InstantiateMainSceneAsync(parent);
#else
            await Task.Yield();
            throw new NotSupportedException("GLB needs glTFast: add the package com.unity.cloud.gltfast (" + glb.Name + ")");
#endif
        }
    }
}
