using UnityEditor;

namespace GameGen.EditorTools
{
    /// <summary>Import settings for what the window bakes into Assets/Generated: normal maps as normal
    /// maps, data maps linear, 16-bit heights kept at 16 bits (R16), tiles pixel-exact, every texture
    /// wrapping (they all tile).</summary>
    sealed class GameGenAssetPostprocessor : AssetPostprocessor
    {
        const string Root = "Assets/Generated/";

        void OnPreprocessTexture()
        {
            if (!assetPath.StartsWith(Root)) return;
            var importer = (TextureImporter)assetImporter;
            var file = System.IO.Path.GetFileNameWithoutExtension(assetPath);
            importer.wrapMode = UnityEngine.TextureWrapMode.Repeat;
            switch (file)
            {
                case "normal_gl":
                    importer.textureType = TextureImporterType.NormalMap;
                    break;
                case "normal_dx":  // DirectX convention (green down): flip green to use it in Unity
                    importer.textureType = TextureImporterType.NormalMap;
#if UNITY_2022_1_OR_NEWER
                    importer.flipGreenChannel = true;
#else
                    UnityEngine.Debug.LogWarning(assetPath + " is a DirectX normal map (green down); bake normal_gl for Unity");
#endif
                    break;
                case "height":
                case "heightmap":
                    importer.textureType = TextureImporterType.SingleChannel;
                    importer.sRGBTexture = false;
                    // uncompressed single channel from a 16-bit PNG imports as R16: the heights keep 16 bits
                    importer.textureCompression = TextureImporterCompression.Uncompressed;
                    importer.mipmapEnabled = false;
                    break;
                case "roughness":
                case "ao":
                case "splat":
                    importer.sRGBTexture = false;
                    break;
                default:
                    if (file.EndsWith("-tiles"))
                    {
                        importer.filterMode = UnityEngine.FilterMode.Point;
                        importer.textureCompression = TextureImporterCompression.Uncompressed;
                    }
                    break;
            }
        }
    }
}
