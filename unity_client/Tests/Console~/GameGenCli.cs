// A console driver of the engine-neutral core (Runtime/Core), compiled with mcs and run against a live
// server + gateway by tests/test_unity_client.py. Unity ignores this folder (its name ends in "~").
//
//   mono gamegen-cs.exe --server http://127.0.0.1:50052 models [KIND]
//   mono gamegen-cs.exe --server URL generate MODEL [--seed N] [--set k=v|k=@file]... [-f FORMAT]...
//        [--out DIR] [--cancel-after EVENTS] [--timeout SECONDS] [--quiet]
//        [--mode pull|run|poll|coroutine] [--repeat N]
//   mono gamegen-cs.exe --server URL recipe [--defaults F,F] --asset NAME MODEL SEED [k=v|k=@file]... [-f F]... ...
//        (a bake.toml written from a recipe, parameters typed from ListModels)
//   mono gamegen-cs.exe decode FILE...   (what the Unity converters would load from the server's files)
//   mono gamegen-cs.exe --server URL session MODEL --persona NAME [--say LINE]... [--cancel-after-deltas N (first turn)] [--pause SECONDS]
//
// One line per event on stdout ("level_chunk x=0 width=25 ..."); a failure prints "CODE: message" on
// stderr and exits with the gRPC code's number, as the C++ client's CLI does.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using GameGen.Client;
using GameGen.Client.Json;

static class GameGenCli
{
    static int Main(string[] args)
    {
        // Exit at once with the code: returning from Main lets Mono's shutdown wait on an idle
        // thread-pool worker of the HTTP stack, which under load held the process open for
        // 30-60 s after the answer had been printed (seen in the test suite, pinned with gdb).
        int code = RunToCode(args);
        Console.Out.Flush();
        Console.Error.Flush();
        Environment.Exit(code);
        return code;
    }

    static int RunToCode(string[] args)
    {
        try { return Run(args).GetAwaiter().GetResult(); }
        catch (GameGenException e)
        {
            Console.Error.WriteLine(e.Message);
            return (int)e.Code;
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine("usage: " + e.Message);
            return 64;
        }
    }

    sealed class UsageException : Exception { public UsageException(string m) : base(m) { } }

    static async Task<int> Run(string[] argv)
    {
        var args = new List<string>(argv);
        var server = Take(args, "--server") ?? "http://127.0.0.1:50052";
        if (args.Count == 0) throw new UsageException("models | generate | session | npc");
        var command = args[0];
        args.RemoveAt(0);
        using (var client = new GameGenClient(server))
        {
            switch (command)
            {
                case "models": return await Models(client, args.Count > 0 ? args[0] : null);
                case "generate": return await Generate(client, args);
                case "session": return await Session(server, args);
                case "npc": return await Npc(server, args);
                case "decode": return Decode(args);
                case "recipe": return await Recipe(client, args);
                default: throw new UsageException("unknown command " + command);
            }
        }
    }

    static string Take(List<string> args, string flag)
    {
        var i = args.IndexOf(flag);
        if (i < 0) return null;
        if (i + 1 >= args.Count) throw new UsageException(flag + " needs a value");
        var v = args[i + 1];
        args.RemoveRange(i, 2);
        return v;
    }

    static List<string> TakeAll(List<string> args, params string[] flags)
    {
        var values = new List<string>();
        while (true)
        {
            string v = null;
            foreach (var f in flags) if ((v = Take(args, f)) != null) break;
            if (v == null) return values;
            values.Add(v);
        }
    }

    static bool Flag(List<string> args, string flag)
    {
        var i = args.IndexOf(flag);
        if (i >= 0) args.RemoveAt(i);
        return i >= 0;
    }

    static string F(double d) { return d.ToString("R", CultureInfo.InvariantCulture); }

    static async Task<int> Models(GameGenClient client, string kind)
    {
        var list = await client.ListModelsAsync(kind);
        foreach (var m in list.Models)
        {
            Console.WriteLine("{0}@{1} family={2} provider={3} sessions={4} formats={5}", m.Ref, m.Version, m.Family,
                              m.ExecutionProvider, m.Sessions ? "true" : "false", string.Join(",", m.OutputFormats));
            foreach (var p in m.Parameters)
                Console.WriteLine("  param {0} type={1} default={2} required={3} allowed=\"{4}\"", p.Name, p.Type,
                                  p.DefaultValue, p.Required ? "true" : "false", p.Allowed());
        }
        return 0;
    }

    static async Task<int> Generate(GameGenClient client, List<string> args)
    {
        var seed = Take(args, "--seed");
        var sets = TakeAll(args, "--set");
        var formats = TakeAll(args, "-f", "--format");
        var outDir = Take(args, "--out");
        var cancelAfter = Take(args, "--cancel-after");
        var timeout = Take(args, "--timeout");
        var quiet = Flag(args, "--quiet");
        var noList = Flag(args, "--no-list");
        var mode = Take(args, "--mode") ?? "pull";
        var repeat = int.Parse(Take(args, "--repeat") ?? "1", CultureInfo.InvariantCulture);
        if (args.Count != 1) throw new UsageException("generate MODEL [options]");
        var request = new GenerateRequest(args[0], seed == null ? 0 : ulong.Parse(seed, CultureInfo.InvariantCulture));
        request.Formats.AddRange(formats);
        if (sets.Count > 0)
        {
            // Parameters are typed from ListModels, as the editor window's forms are.
            ModelInfo model = null;
            if (!noList)
            {
                var kind = request.Kind;
                var name = args[0].Substring(kind.Length + 1).Split('@')[0];
                model = (await client.ListModelsAsync(kind)).Models.FirstOrDefault(m => m.Name == name);
            }
            foreach (var kv in sets)
            {
                var eq = kv.IndexOf('=');
                if (eq < 0) throw new UsageException("--set name=value");
                var key = kv.Substring(0, eq);
                var text = kv.Substring(eq + 1);
                var info = model == null ? null : model.Parameter(key);
                object value;
                if (text.StartsWith("@")) value = File.ReadAllBytes(text.Substring(1));
                else if (info != null) value = info.Parse(text);
                else value = text;
                request.Set(key, value);
            }
        }
        var options = new CallOptions();
        if (timeout != null) options.Timeout = TimeSpan.FromSeconds(double.Parse(timeout, CultureInfo.InvariantCulture));
        if (outDir != null) Directory.CreateDirectory(outDir);

        for (int rep = 0; rep < repeat; rep++)  // one process, one HttpClient: later runs are warm
        {
            var clock = Stopwatch.StartNew();
            var cts = new CancellationTokenSource();
            int events = 0;
            double firstMs = -1;
            using (var call = client.Generate(request, cts.Token, options))
            {
                Action<GenerateEvent> handle = e =>
                {
                    if (firstMs < 0) firstMs = clock.Elapsed.TotalMilliseconds;
                    events++;
                    if (!quiet) Print(e);
                    if (e.Asset != null && outDir != null && !e.Asset.IsPreview)
                        File.WriteAllBytes(Path.Combine(outDir, e.Asset.Name), e.Asset.Data);
                    if (cancelAfter != null && events == int.Parse(cancelAfter, CultureInfo.InvariantCulture))
                        cts.Cancel();  // the next read ends with CANCELLED
                };
                var handlers = new GenerateHandlers
                {
                    OnProgress = p => handle(new GenerateEvent { Progress = p }),
                    OnLevelChunk = c => handle(new GenerateEvent { Partial = new PartialContent { LevelChunk = c } }),
                    OnMusicBar = b => handle(new GenerateEvent { Partial = new PartialContent { MusicBar = b } }),
                    OnAsset = a => handle(new GenerateEvent { Asset = a }),
                    OnFinal = f => handle(new GenerateEvent { Final = f, IsLast = true }),
                };
                switch (mode)
                {
                    case "pull":  // await MoveNextAsync, as async code in a game or a build script would
                        while (await call.MoveNextAsync()) handle(call.Current);
                        break;
                    case "run":  // callbacks on the awaiting context
                        await call.RunAsync(handlers);
                        break;
                    case "poll":  // Update(): one TryRead loop per "frame", never blocking
                        GenerateEvent ev;
                        while (call.TryRead(out ev))
                        {
                            if (ev != null) handle(ev);
                            else Thread.Sleep(1);
                        }
                        break;
                    case "coroutine":  // driven the way Unity drives StartCoroutine: MoveNext once per frame
                        GameGenException failure = null;
                        handlers.OnError = e => failure = e;
                        var routine = call.Coroutine(handlers);
                        while (routine.MoveNext()) Thread.Sleep(1);
                        if (failure != null) throw failure;
                        break;
                    default: throw new UsageException("--mode pull|run|poll|coroutine");
                }
                Console.WriteLine("timing first_event_ms={0} total_ms={1} progress={2}", F(firstMs),
                                  F(clock.Elapsed.TotalMilliseconds), F(call.Progress));
            }
        }
        return 0;
    }

    static async Task<int> Recipe(GameGenClient client, List<string> args)
    {
        var recipe = new BakeRecipe();
        var defaults = Take(args, "--defaults");
        if (defaults != null) recipe.DefaultFormats.AddRange(defaults.Split(','));
        var models = (await client.ListModelsAsync()).Models;
        BakeAsset asset = null;
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == "--asset")
            {
                asset = new BakeAsset { Name = args[i + 1], Model = args[i + 2], Seed = ulong.Parse(args[i + 3]) };
                recipe.Assets.Add(asset);
                i += 3;
            }
            else if (args[i] == "-f") asset.Formats.Add(args[++i]);
            else
            {
                var eq = args[i].IndexOf('=');
                var name = args[i].Substring(0, eq);
                var text = args[i].Substring(eq + 1);
                var model = models.First(m => m.Ref == asset.Model.Split('@')[0]);
                object value = text.StartsWith("@") ? new BakeFile(text.Substring(1)) : model.Parameter(name).Parse(text);
                asset.Params.Add(new KeyValuePair<string, object>(name, value));
            }
        }
        Console.Write(recipe.ToToml());
        return 0;
    }

    static int Decode(List<string> files)
    {
        foreach (var path in files)
        {
            var bytes = File.ReadAllBytes(path);
            var name = Path.GetFileName(path);
            if (name.EndsWith(".png"))
            {
                var g = GameGen.Client.Formats.Png.DecodeGray16(bytes);
                long sum = 0;
                foreach (var v in g.Samples) sum += v;
                Console.WriteLine("gray16 {0} width={1} height={2} sum={3} first={4} last={5}", name, g.Width, g.Height, sum,
                                  g.Samples[0], g.Samples[g.Samples.Length - 1]);
            }
            else if (name.EndsWith(".raw"))
            {
                int size;
                var h = GameGen.Client.Formats.RawHeightmap.Decode(bytes, out size);
                long sum = 0;
                foreach (var v in h) sum += (long)Math.Round(v * 65535.0);
                Console.WriteLine("raw {0} size={1} sum={2} corner_row0_col1={3}", name, size, sum, Math.Round(h[0, 1] * 65535.0));
            }
            else if (name.EndsWith(".wav"))
            {
                var w = GameGen.Client.Formats.Wav.Decode(bytes);
                long sum = 0;
                foreach (var v in w.Samples) sum += (long)Math.Round(v * 32768.0);
                Console.WriteLine("wav {0} channels={1} rate={2} frames={3} sum={4}", name, w.Channels, w.SampleRate, w.Frames, sum);
            }
            else if (name.EndsWith(".tmj"))
            {
                var m = GameGen.Client.Formats.TiledMap.Parse(bytes);
                var layer = m.Layers[0];
                var rows = new List<string>();
                for (int y = 0; y < layer.Height; y++)
                {
                    var row = new System.Text.StringBuilder();
                    for (int x = 0; x < layer.Width; x++) row.Append(m.TileAt(layer, x, y) + ",");
                    rows.Add(row.ToString());
                }
                Console.WriteLine("tmj {0} width={1} height={2} tile={3}x{4} layers={5} first_gid={6} ids={7}", name, m.Width, m.Height,
                                  m.TileWidth, m.TileHeight, m.Layers.Count, m.Tilesets[0].Key, string.Join("|", rows));
            }
            else if (name.EndsWith(".tsj"))
            {
                var t = GameGen.Client.Formats.TiledTileset.Parse(bytes);
                int x, y;
                t.Rect(t.TileCount - 1, out x, out y);
                var symbols = t.Properties.OrderBy(kv => kv.Key).Select(kv => kv.Key + ":" + (kv.Value.ContainsKey("symbol") ? kv.Value["symbol"] : "?"));
                Console.WriteLine("tsj {0} tiles={1} columns={2} image={3} last_rect={4},{5} symbols={6}", name, t.TileCount, t.Columns,
                                  t.Image, x, y, string.Join(",", symbols));
            }
            else throw new UsageException("decode: .png (16-bit grey), .raw, .wav, .tmj or .tsj");
        }
        return 0;
    }

    static void Print(GenerateEvent e)
    {
        switch (e.Type)
        {
            case GenerateEventType.Progress:
                Console.WriteLine("progress fraction={0} stage={1}", F(e.Progress.Fraction), e.Progress.Stage);
                break;
            case GenerateEventType.LevelChunk:
                var c = e.Partial.LevelChunk;
                Console.WriteLine("level_chunk x={0} y={1} width={2} height={3} level_width={4} rows={5}", c.X, c.Y, c.Width,
                                  c.Height, c.LevelWidth, string.Join("|", c.Rows));
                break;
            case GenerateEventType.MusicBar:
                var b = e.Partial.MusicBar;
                Console.WriteLine("music_bar index={0} total={1} start_beat={2} notes={3}", b.Index, b.TotalBars,
                                  F(b.StartBeat), b.Notes.Count);
                break;
            case GenerateEventType.Asset:
                Console.WriteLine("asset name={0} format={1} media_type={2} bytes={3} sha256={4}", e.Asset.Name,
                                  e.Asset.Format, e.Asset.MediaType, e.Asset.Data.Length, e.Asset.Sha256);
                break;
            case GenerateEventType.Final:
                var f = e.Final;
                Console.WriteLine("final model={0} version={1} seed={2} content_hash={3} provider={4} params={5} is_last={6}",
                                  f.Model, f.Version, f.Seed, f.ContentHash, f.ExecutionProvider,
                                  string.Join(",", f.Parameters.Select(p => p.Name + ":" + p.Value)), e.IsLast ? "true" : "false");
                break;
            default:
                Console.WriteLine("other");
                break;
        }
    }

    // npc MODEL --open JSON --tick JSON...: an NPC scene; each tick's actions, typed or packed.
    static async Task<int> Npc(string server, List<string> args)
    {
        var openJson = Take(args, "--open") ?? "{}";
        var ticks = TakeAll(args, "--tick");
        if (args.Count != 1) throw new UsageException("npc MODEL --open JSON --tick JSON...");
        var open = new SessionOpen { Model = args[0], OtherKind = "npc", OtherParams = JsonParser.ParseObject(openJson) };
        using (var session = await SessionClient.OpenAsync(server, open))
        {
            foreach (var tick in ticks)
            {
                var call = session.Send(JsonParser.ParseObject(tick));
                try
                {
                    while (await call.MoveNextAsync())
                    {
                        var e = call.Current;
                        if (e.Type != SessionEventType.NpcActions) continue;
                        var b = e.NpcActions.Block;
                        if (b != null)
                            Console.WriteLine("block input={0} action={1} direction={2} names={3}", e.InputId,
                                              string.Join(",", b.Action), string.Join(",", b.Direction.Select(v => v.ToString("R", CultureInfo.InvariantCulture))),
                                              string.Join(",", b.Names));
                        else
                            Console.WriteLine("actions input={0} {1}", e.InputId,
                                              string.Join(" ", e.NpcActions.Actions.Select(a => a.AgentId + "=" + a.Action)));
                    }
                }
                catch (GameGenException ex)
                {
                    Console.WriteLine("input_error input={0} code={1} message={2}", call.InputId, ex.CodeName, ex.Details);
                }
            }
            await session.CloseAsync();
        }
        return 0;
    }

    static async Task<int> Session(string server, List<string> args)
    {
        var persona = Take(args, "--persona");
        var lines = TakeAll(args, "--say");
        var cancelAfter = Take(args, "--cancel-after-deltas");
        var seed = Take(args, "--seed");
        var pause = Take(args, "--pause");  // seconds to wait between lines (idle-timeout tests)
        if (args.Count != 1) throw new UsageException("session MODEL --persona NAME --say LINE...");
        var open = new DialogOpen();
        if (persona != null) open.Persona.Name = persona;
        using (var dialog = await DialogSession.OpenAsync(server, args[0], seed == null ? 0 : ulong.Parse(seed), open))
        {
            Console.WriteLine("opened session_id={0} model={1} version={2}", dialog.Session.Opened.SessionId,
                              dialog.Session.Opened.Model, dialog.Session.Opened.Version);
            foreach (var line in lines)
            {
                if (pause != null && line != lines[0]) Thread.Sleep(TimeSpan.FromSeconds(double.Parse(pause, CultureInfo.InvariantCulture)));
                var turn = dialog.Say(line);
                int deltas = 0;
                try
                {
                    while (await turn.MoveNextAsync())
                    {
                        var e = turn.Current;
                        switch (e.Type)
                        {
                            case SessionEventType.TextDelta:
                                deltas++;
                                Console.WriteLine("delta input={0} text={1}", e.InputId, e.Partial.TextDelta.Text.Replace(" ", "_"));
                                if (cancelAfter != null && turn.InputId == 1 && deltas == int.Parse(cancelAfter)) await turn.CancelAsync();
                                break;
                            case SessionEventType.DialogReply:
                                Console.WriteLine("reply input={0} emotion={1} action={2} line={3}", e.InputId,
                                                  e.DialogReply.Emotion, e.DialogReply.Action, e.DialogReply.Line);
                                break;
                            case SessionEventType.End:
                                Console.WriteLine("end input={0} stop_reason={1} tokens={2} text={3}", e.InputId,
                                                  e.End.StopReason, e.End.Tokens, turn.Text);
                                break;
                        }
                    }
                }
                catch (GameGenException ex)
                {   // an input's error ends that input only; the session goes on
                    Console.WriteLine("input_error input={0} code={1} message={2}", turn.InputId, ex.CodeName, ex.Details);
                }
            }
            if (dialog.Session.Ended != null)
                Console.WriteLine("session_ended code={0} message={1}", dialog.Session.Ended.CodeName, dialog.Session.Ended.Details);
            var closed = await dialog.CloseAsync();
            Console.WriteLine("closed reason={0}", closed == null ? "(none)" : closed.Reason);
        }
        return 0;
    }
}
