using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using GameGen.Client;
using GameGen.Unity;
using UnityEditor;
using UnityEngine;

namespace GameGen.EditorTools
{
    /// <summary>Window > GameGen: pick a model (the list and each parameter form come from ListModels,
    /// never from a list in this package), preview it streaming, and bake it into Assets/Generated/NAME
    /// with an entry in the recipe asset (Assets/Generated/GameGenRecipe.asset). All network work runs
    /// off the main thread; the window polls it from EditorApplication.update.</summary>
    public sealed class GameGenWindow : EditorWindow
    {
        const string RecipePath = "Assets/Generated/GameGenRecipe.asset";

        string serverUrl;
        GameGenClient client;
        Task<ListModelsResponse> listing;
        List<ModelInfo> models = new List<ModelInfo>();
        int modelIndex;
        readonly Dictionary<string, string> values = new Dictionary<string, string>();
        readonly Dictionary<string, UnityEngine.Object> files = new Dictionary<string, UnityEngine.Object>();
        readonly HashSet<string> formats = new HashSet<string>();
        int seed;
        string assetName = "asset-1";
        string status = "";
        Vector2 scroll;

        GenerateCall call;
        bool baking;
        readonly Queue<GameGenRecipeAsset.Entry> bakeQueue = new Queue<GameGenRecipeAsset.Entry>();
        readonly List<Asset> received = new List<Asset>();
        readonly List<string> levelRows = new List<string>();
        Texture2D preview;
        int bars;

        [MenuItem("Window/GameGen")]
        public static GameGenWindow Open() { return GetWindow<GameGenWindow>("GameGen"); }

        void OnEnable()
        {
            serverUrl = EditorPrefs.GetString("GameGen.ServerUrl", "http://127.0.0.1:50052");
            EditorApplication.update += Poll;
        }

        void OnDisable()
        {
            EditorApplication.update -= Poll;
            if (call != null) call.Dispose();  // domain reload or closing the window cancels the call
            if (client != null) client.Dispose();
            call = null;
            client = null;
        }

        GameGenClient Client()
        {
            if (client == null) client = new GameGenClient(serverUrl);
            return client;
        }

        ModelInfo Model { get { return modelIndex < models.Count ? models[modelIndex] : null; } }

        void OnGUI()
        {
            scroll = EditorGUILayout.BeginScrollView(scroll);
            EditorGUILayout.BeginHorizontal();
            var url = EditorGUILayout.TextField("Server (HTTP gateway)", serverUrl);
            if (url != serverUrl)
            {
                serverUrl = url;
                EditorPrefs.SetString("GameGen.ServerUrl", url);
                if (client != null) client.Dispose();
                client = null;
            }
            if (GUILayout.Button("Refresh models", GUILayout.Width(120))) Refresh();
            EditorGUILayout.EndHorizontal();

            if (models.Count == 0)
            {
                EditorGUILayout.HelpBox("Start a server (gamegen serve) and press Refresh models. " + status, MessageType.Info);
                EditorGUILayout.EndScrollView();
                return;
            }
            var names = models.Select(m => m.Ref + (m.Sessions ? "  (sessions)" : "")).ToArray();
            var picked = EditorGUILayout.Popup("Model", modelIndex, names);
            if (picked != modelIndex) { modelIndex = picked; ResetForm(); }
            var model = Model;
            EditorGUILayout.LabelField(model.Description, EditorStyles.wordWrappedMiniLabel);
            EditorGUILayout.LabelField("version " + model.Version + " · " + model.Family + " · " + model.ExecutionProvider, EditorStyles.miniLabel);

            seed = EditorGUILayout.IntField("Seed", seed);
            foreach (var p in model.Parameters) ParameterField(p);
            foreach (var rule in model.Rules) EditorGUILayout.LabelField(rule, EditorStyles.wordWrappedMiniLabel);

            EditorGUILayout.LabelField("Formats");
            EditorGUILayout.BeginHorizontal();
            foreach (var f in model.OutputFormats)
            {
                var on = GUILayout.Toggle(formats.Contains(f), f, "Button");
                if (on) formats.Add(f); else formats.Remove(f);
            }
            EditorGUILayout.EndHorizontal();
            assetName = EditorGUILayout.TextField("Bake as", assetName);

            EditorGUILayout.BeginHorizontal();
            using (new EditorGUI.DisabledScope(call != null || model.Sessions))
            {
                if (GUILayout.Button("Preview")) Start(false);
                if (GUILayout.Button("Bake into Assets/Generated/" + assetName)) Start(true);
            }
            using (new EditorGUI.DisabledScope(call == null))
                if (GUILayout.Button("Cancel", GUILayout.Width(80))) call.Cancel();
            EditorGUILayout.EndHorizontal();

            if (call != null) EditorGUI.ProgressBar(EditorGUILayout.GetControlRect(), call.Progress, status);
            else if (status.Length > 0) EditorGUILayout.HelpBox(status, MessageType.None);
            DrawPreview();
            EditorGUILayout.EndScrollView();
        }

        void ParameterField(ParameterInfo p)
        {
            string value;
            if (!values.TryGetValue(p.Name, out value)) value = p.DefaultValue == "none" ? "" : p.DefaultValue;
            var label = new GUIContent(p.Name + (p.Required ? " *" : ""), p.Doc + "\nallowed: " + p.Allowed());
            switch (p.Type)
            {
                case ParameterType.Int:
                    if (p.Choices.Count > 0)
                    {
                        var i = Math.Max(0, p.Choices.IndexOf(value));
                        value = p.Choices[EditorGUILayout.Popup(label, i, p.Choices.Select(x => new GUIContent(x)).ToArray())];
                    }
                    else
                    {
                        int v;
                        int.TryParse(value, out v);
                        v = EditorGUILayout.IntSlider(label, v, (int)p.Min, (int)p.Max);
                        if (p.MultipleOf > 0) v -= v % (int)p.MultipleOf;
                        value = v.ToString();
                    }
                    break;
                case ParameterType.Float:
                    float f;
                    float.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out f);
                    value = EditorGUILayout.Slider(label, f, (float)p.Min, (float)p.Max).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case ParameterType.Bool:
                    value = EditorGUILayout.Toggle(label, value == "true") ? "true" : "false";
                    break;
                case ParameterType.Choice:
                    var choice = Math.Max(0, p.Choices.IndexOf(value));
                    value = p.Choices[EditorGUILayout.Popup(label, choice, p.Choices.Select(x => new GUIContent(x)).ToArray())];
                    break;
                case ParameterType.Bytes:
                    UnityEngine.Object file;
                    files.TryGetValue(p.Name, out file);
                    files[p.Name] = EditorGUILayout.ObjectField(label, file, typeof(UnityEngine.Object), false);
                    return;
                default:
                    value = EditorGUILayout.TextField(label, value);
                    break;
            }
            values[p.Name] = value;
        }

        void ResetForm()
        {
            values.Clear();
            files.Clear();
            formats.Clear();
            var model = Model;
            if (model != null && model.OutputFormats.Count > 0) formats.Add(model.OutputFormats[0]);
        }

        void Refresh()
        {
            status = "asking " + serverUrl + " ...";
            listing = Client().ListModelsAsync();
        }

        GameGenRecipeAsset.Entry CurrentEntry()
        {
            var e = new GameGenRecipeAsset.Entry { name = assetName, model = Model.Ref, seed = seed };
            e.formats.AddRange(Model.OutputFormats.Where(formats.Contains));
            foreach (var p in Model.Parameters)
            {
                UnityEngine.Object file;
                string value;
                if (p.Type == ParameterType.Bytes)
                {
                    if (files.TryGetValue(p.Name, out file) && file != null)
                        e.parameters.Add(new GameGenRecipeAsset.Param { name = p.Name, file = file });
                }
                else if (values.TryGetValue(p.Name, out value) && value != p.DefaultValue)
                    e.parameters.Add(new GameGenRecipeAsset.Param { name = p.Name, value = value });
            }
            return e;
        }

        GenerateRequest RequestFor(GameGenRecipeAsset.Entry e)
        {
            var request = new GenerateRequest(e.model, (ulong)Math.Max(0, e.seed));
            request.Formats.AddRange(e.formats);
            var model = GameGenRecipeAsset.FindModel(models, e.model);
            foreach (var p in e.parameters)
            {
                if (p.file != null) request.Set(p.name, File.ReadAllBytes(AssetDatabase.GetAssetPath(p.file)));
                else request.Set(p.name, model == null || model.Parameter(p.name) == null ? p.value : model.Parameter(p.name).Parse(p.value));
            }
            return request;
        }

        void Start(bool bake)
        {
            try { Begin(CurrentEntry(), bake); }
            catch (GameGenException e) { status = e.Message; }
        }

        GameGenRecipeAsset.Entry current;

        void Begin(GameGenRecipeAsset.Entry entry, bool bake)
        {
            received.Clear();
            levelRows.Clear();
            bars = 0;
            preview = null;
            baking = bake;
            current = entry;
            status = (bake ? "baking " : "generating ") + entry.name;
            call = Client().Generate(RequestFor(entry));
        }

        /// <summary>Runs on the editor's update loop: never blocks, reads what has arrived.</summary>
        void Poll()
        {
            if (listing != null && listing.IsCompleted)
            {
                if (listing.Status == TaskStatus.RanToCompletion)
                {
                    models = listing.Result.Models;
                    modelIndex = Math.Min(modelIndex, Math.Max(0, models.Count - 1));
                    ResetForm();
                    status = models.Count + " models";
                }
                else status = listing.Exception.GetBaseException().Message;
                listing = null;
                Repaint();
            }
            if (call == null) return;
            var over = false;
            try
            {
                GenerateEvent ev;
                while (true)
                {
                    if (!call.TryRead(out ev)) { over = true; break; }  // the stream is over
                    if (ev == null) break;                              // nothing more this frame
                    Handle(ev);
                }
            }
            catch (GameGenException e) { status = e.Message; over = true; received.Clear(); }
            if (!over) { Repaint(); return; }
            call.Dispose();
            call = null;
            if (baking && received.Count > 0 && current != null) WriteBaked(current);
            if (bakeQueue.Count > 0) Begin(bakeQueue.Dequeue(), true);
            Repaint();
        }

        void Handle(GenerateEvent ev)
        {
            switch (ev.Type)
            {
                case GenerateEventType.Progress: status = ev.Progress.Stage + " " + ev.Progress.Message; break;
                case GenerateEventType.LevelChunk:
                    var c = ev.Partial.LevelChunk;
                    while (levelRows.Count < c.Height) levelRows.Add("");
                    for (int y = 0; y < c.Rows.Count; y++) levelRows[(int)c.Y + y] += c.Rows[y];
                    break;
                case GenerateEventType.MusicBar: bars++; status = "bar " + (ev.Partial.MusicBar.Index + 1) + " of " + ev.Partial.MusicBar.TotalBars; break;
                case GenerateEventType.Asset:
                    if (ev.Asset.MediaType == "image/png" && (preview == null || ev.Asset.IsPreview || preview.name.EndsWith("preview.png")))
                        preview = GameGenConverters.ToTexture(ev.Asset, false);
                    if (!ev.Asset.IsPreview) received.Add(ev.Asset);
                    break;
                case GenerateEventType.Final:
                    status = "done: " + ev.Final.Model + "@" + ev.Final.Version + " seed " + ev.Final.Seed + " · " + received.Count + " files";
                    break;
            }
        }

        void DrawPreview()
        {
            if (levelRows.Count > 0)
                EditorGUILayout.TextArea(string.Join("\n", levelRows.ToArray()), EditorStyles.textArea);
            if (bars > 0) EditorGUILayout.LabelField(bars + " bars streamed");
            if (preview != null)
            {
                var rect = GUILayoutUtility.GetAspectRect((float)preview.width / preview.height, GUILayout.MaxHeight(256));
                EditorGUI.DrawPreviewTexture(rect, preview);
            }
            foreach (var a in received) EditorGUILayout.LabelField(a.Name, a.MediaType + " · " + a.Data.Length + " bytes");
        }

        void WriteBaked(GameGenRecipeAsset.Entry entry)
        {
            var folder = "Assets/Generated/" + entry.name;
            Directory.CreateDirectory(folder);
            foreach (var a in received) File.WriteAllBytes(Path.Combine(folder, a.Name), a.Data);
            AssetDatabase.Refresh();  // GameGenAssetPostprocessor sets the import settings
            var recipe = AssetDatabase.LoadAssetAtPath<GameGenRecipeAsset>(RecipePath);
            if (recipe == null)
            {
                recipe = CreateInstance<GameGenRecipeAsset>();
                AssetDatabase.CreateAsset(recipe, RecipePath);
            }
            recipe.serverUrl = serverUrl;
            recipe.assets.RemoveAll(e => e.name == entry.name);
            recipe.assets.Add(entry);
            EditorUtility.SetDirty(recipe);
            AssetDatabase.SaveAssets();
            status = "baked " + received.Count + " files into " + folder;
        }

        /// <summary>Bakes every entry of a recipe again, one after another.</summary>
        public void BakeAll(GameGenRecipeAsset recipe)
        {
            if (models.Count == 0) { Refresh(); status = "models not listed yet: press Bake again once they are"; return; }
            foreach (var e in recipe.assets) bakeQueue.Enqueue(e);
            if (call == null && bakeQueue.Count > 0) Begin(bakeQueue.Dequeue(), true);
        }

        /// <summary>Writes bake.toml next to the recipe (file parameters relative to it).</summary>
        public static void ExportBakeToml(GameGenRecipeAsset recipe)
        {
            var folder = Path.GetDirectoryName(AssetDatabase.GetAssetPath(recipe));
            using (var c = new GameGenClient(recipe.serverUrl))
            {
                // the models' parameter lists type the values; ConfigureAwait(false) inside, so waiting here is safe
                var models = c.ListModelsAsync().Result.Models;
                var toml = recipe.ToRecipe(models, folder).ToToml();
                File.WriteAllText(Path.Combine(folder, "bake.toml"), toml);
            }
            AssetDatabase.Refresh();
            Debug.Log("GameGen: wrote " + Path.Combine(folder, "bake.toml") + "; bake it with: gamegen bake bake.toml --out Assets/Generated");
        }
    }
}
