using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using GameGen.Client;
using UnityEditor;
using UnityEngine;

namespace GameGen.EditorTools
{
    /// <summary>The recipe of what the GameGen window baked into Assets/Generated, mirroring bake.toml:
    /// [defaults] formats, then one entry per asset (name = output folder, model, seed, parameters by
    /// name as text, files as project assets, formats). "Export bake.toml" writes the file a build
    /// pipeline bakes the same assets from with `gamegen bake`.</summary>
    [CreateAssetMenu(menuName = "GameGen/Recipe", fileName = "GameGenRecipe")]
    public sealed class GameGenRecipeAsset : ScriptableObject
    {
        [Serializable]
        public sealed class Param
        {
            public string name;
            [Tooltip("The value as text, typed by the model's parameter list (\"300\", \"0.4\", \"true\", \"stone\")")]
            public string value;
            [Tooltip("For file parameters (an exemplar image, a MIDI file): the project asset")]
            public UnityEngine.Object file;
        }

        [Serializable]
        public sealed class Entry
        {
            public string name;
            public string model;
            public long seed;
            public List<Param> parameters = new List<Param>();
            public List<string> formats = new List<string>();
        }

        public string serverUrl = "http://127.0.0.1:50052";
        public List<string> defaultFormats = new List<string>();
        public List<Entry> assets = new List<Entry>();

        public Entry Find(string name) { return assets.Find(e => e.name == name); }

        /// <summary>The engine-neutral recipe; text values typed by the models' parameter lists.</summary>
        public BakeRecipe ToRecipe(IList<ModelInfo> models, string bakeFileFolder)
        {
            var recipe = new BakeRecipe();
            recipe.DefaultFormats.AddRange(defaultFormats);
            foreach (var e in assets)
            {
                var a = new BakeAsset { Name = e.name, Model = e.model, Seed = (ulong)Math.Max(0, e.seed) };
                a.Formats.AddRange(e.formats);
                var info = FindModel(models, e.model);
                foreach (var p in e.parameters)
                {
                    object value;
                    if (p.file != null) value = new BakeFile(Relative(bakeFileFolder, AssetDatabase.GetAssetPath(p.file)));
                    else if (info != null && info.Parameter(p.name) != null) value = info.Parameter(p.name).Parse(p.value);
                    else value = p.value;
                    a.Params.Add(new KeyValuePair<string, object>(p.name, value));
                }
                recipe.Assets.Add(a);
            }
            return recipe;
        }

        internal static ModelInfo FindModel(IList<ModelInfo> models, string model)
        {
            var reference = (model ?? "").Split('@')[0];
            foreach (var m in models) if (m.Ref == reference) return m;
            return null;
        }

        static string Relative(string folder, string assetPath)
        {
            var from = new Uri(Path.GetFullPath(folder).TrimEnd('/', '\\') + "/");
            return Uri.UnescapeDataString(from.MakeRelativeUri(new Uri(Path.GetFullPath(assetPath))).ToString());
        }
    }

    [CustomEditor(typeof(GameGenRecipeAsset))]
    sealed class GameGenRecipeAssetEditor : UnityEditor.Editor
    {
        public override void OnInspectorGUI()
        {
            DrawDefaultInspector();
            var recipe = (GameGenRecipeAsset)target;
            EditorGUILayout.Space();
            if (GUILayout.Button("Export bake.toml next to this recipe"))
                GameGenWindow.ExportBakeToml(recipe);
            if (GUILayout.Button("Bake every asset again (GameGen window)"))
                GameGenWindow.Open().BakeAll(recipe);
        }
    }
}
