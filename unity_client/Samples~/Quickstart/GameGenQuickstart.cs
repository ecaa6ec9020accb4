// Quickstart: on Start, generate a level into a Tilemap, a PBR material onto a renderer and a piece of
// music into an AudioSource, each streaming through coroutines (events arrive on the main thread,
// no frame waits for the network). Run `gamegen serve` first; its HTTP gateway listens on 50052.
using System.Collections;
using System.Collections.Generic;
using GameGen.Client;
using GameGen.Unity;
using UnityEngine;
using UnityEngine.Tilemaps;

public sealed class GameGenQuickstart : MonoBehaviour
{
    public string serverUrl = "http://127.0.0.1:50052";
    public Tilemap tilemap;            // a Grid > Tilemap in the scene
    public Renderer textured;          // e.g. a Quad with a Standard / Lit material
    public AudioSource music;

    GameGenClient client;

    IEnumerator Start()
    {
        client = new GameGenClient(serverUrl);

        // 1. A Super Mario Bros level, 300 columns, streamed in column chunks.
        var level = new GenerateRequest("levels/smb", seed: 7) { Params = new LevelParams { Width = 300, Enemies = 0.4 } };
        level.Format("tmj");
        var files = new Dictionary<string, Asset>();
        yield return client.Generate(level).Coroutine(new GenerateHandlers
        {
            OnLevelChunk = chunk => Debug.Log("columns " + chunk.X + ".." + (chunk.X + chunk.Width) + " of " + chunk.LevelWidth),
            OnAsset = asset => files[asset.Name] = asset,
            OnError = error => Debug.LogError(error.Message),
        });
        if (files.ContainsKey("level.tmj"))
            GameGenConverters.ToTilemap(files["level.tmj"], tilemap, GameGenConverters.SliceTiles(files["smb.tsj"], files["smb-tiles.png"]));

        // 2. A tileable brick material: albedo and an OpenGL-convention normal map (Unity's).
        var texture = new GenerateRequest("textures/materials-gan", seed: 3)
        {
            Params = new TextureParams { Material = "brick", Size = 512 },
        }.Format("albedo", "normal_gl");
        yield return client.Generate(texture).Coroutine(new GenerateHandlers
        {
            OnProgress = p => Debug.Log("texture " + Mathf.RoundToInt(p.Fraction * 100) + "%"),
            OnAsset = asset =>
            {
                if (asset.Format == "albedo") textured.material.mainTexture = GameGenConverters.ToTexture(asset);
                if (asset.Format == "normal_gl")
                {
                    textured.material.SetTexture("_BumpMap", GameGenConverters.ToNormalMap(asset));
                    textured.material.EnableKeyword("_NORMALMAP");
                }
            },
            OnError = error => Debug.LogError(error.Message),
        });

        // 3. A looping theme in D minor, streamed bar by bar, played when the WAV arrives.
        var theme = new GenerateRequest("music/music-lstm", seed: 11)
        {
            Params = new MusicParams { Key = "D", Mode = "minor", Bars = 8, Loop = true },
        }.Format("wav");
        yield return client.Generate(theme).Coroutine(new GenerateHandlers
        {
            OnMusicBar = bar => Debug.Log("bar " + (bar.Index + 1) + "/" + bar.TotalBars + ": " + bar.Notes.Count + " notes"),
            OnAsset = asset =>
            {
                music.clip = GameGenConverters.ToAudioClip(asset);
                music.loop = true;
                music.Play();
            },
            OnError = error => Debug.LogError(error.Message),
        });
    }

    void OnDestroy()
    {
        if (client != null) client.Dispose();
    }
}
