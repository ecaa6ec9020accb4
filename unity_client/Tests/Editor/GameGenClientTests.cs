// Edit-mode tests in Unity's Test Runner against a live server: set GAMEGEN_HTTP to its gateway
// (e.g. http://127.0.0.1:50052) before starting the editor; without it they are ignored. The same
// calls run in CI through the console driver (Tests/Console~, tests/test_unity_client.py).
using System;
using System.Collections;
using System.Collections.Generic;
using GameGen.Client;
using GameGen.Unity;
using NUnit.Framework;
using UnityEngine;
using UnityEngine.TestTools;

public sealed class GameGenClientTests
{
    static string Url()
    {
        var url = Environment.GetEnvironmentVariable("GAMEGEN_HTTP");
        if (string.IsNullOrEmpty(url)) Assert.Ignore("set GAMEGEN_HTTP to a gamegen server's HTTP gateway to run these");
        return url;
    }

    [UnityTest]
    public IEnumerator ALevelStreamsInChunksAndLoadsIntoATilemap()
    {
        using (var client = new GameGenClient(Url()))
        {
            var chunks = new List<LevelChunk>();
            var files = new Dictionary<string, Asset>();
            GameGenException failure = null;
            var request = new GenerateRequest("levels/smb", 7) { Params = new LevelParams { Width = 100 } }.Format("tmj");
            yield return client.Generate(request).Coroutine(new GenerateHandlers
            {
                OnLevelChunk = chunks.Add, OnAsset = a => files[a.Name] = a, OnError = e => failure = e,
            });
            Assert.IsNull(failure);
            Assert.AreEqual(4, chunks.Count);
            var grid = new GameObject("grid", typeof(Grid));
            var tilemap = new GameObject("tiles", typeof(UnityEngine.Tilemaps.Tilemap)).GetComponent<UnityEngine.Tilemaps.Tilemap>();
            tilemap.transform.SetParent(grid.transform);
            GameGenConverters.ToTilemap(files["level.tmj"], tilemap, GameGenConverters.SliceTiles(files["smb.tsj"], files["smb-tiles.png"]));
            Assert.Greater(tilemap.GetUsedTilesCount(), 0);
            UnityEngine.Object.DestroyImmediate(grid);
        }
    }

    [UnityTest]
    public IEnumerator AHeightmapStaysSixteenBitAndMusicBecomesAnAudioClip()
    {
        using (var client = new GameGenClient(Url()))
        {
            Texture2D height = null;
            AudioClip clip = null;
            var terrain = new GenerateRequest("terrain/noise", 3) { Params = new TerrainParams { Size = 65 } }.Format("heightmap");
            yield return client.Generate(terrain).Coroutine(new GenerateHandlers { OnAsset = a => height = GameGenConverters.ToTexture(a) });
            Assert.AreEqual(TextureFormat.R16, height.format);
            var music = new GenerateRequest("music/music-markov", 3) { Params = new MusicParams { Bars = 2 } }.Format("wav");
            yield return client.Generate(music).Coroutine(new GenerateHandlers { OnAsset = a => clip = GameGenConverters.ToAudioClip(a) });
            Assert.Greater(clip.length, 1f);
        }
    }

    [UnityTest]
    public IEnumerator BadInputIsATypedError()
    {
        using (var client = new GameGenClient(Url()))
        {
            GameGenException failure = null;
            var request = new GenerateRequest("levels/smb", 1) { Params = new LevelParams { Width = 5000 } }.Format("txt");
            yield return client.Generate(request).Coroutine(new GenerateHandlers { OnError = e => failure = e });
            Assert.AreEqual(StatusCode.InvalidArgument, failure.Code);
            StringAssert.Contains("width", failure.Details);
        }
    }
}
