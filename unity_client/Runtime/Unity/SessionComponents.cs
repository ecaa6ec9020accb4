// Session components for NPCs, driven from Update/FixedUpdate: opening, sending and reading never
// block a frame (the socket is read on a worker thread; events are polled here, on the main thread,
// so handlers may touch Unity objects). Inputs sent while one runs wait their turn here, as the
// server runs them one at a time. Disabling the component closes the session.
using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using GameGen.Client;
using GameGen.Client.Json;
using UnityEngine;
using UnityEngine.Events;

namespace GameGen.Unity
{
    [Serializable] public class StringEvent : UnityEvent<string> { }
    [Serializable] public class ReplyEvent : UnityEvent<string, string, string> { }

    public abstract class SessionComponent : MonoBehaviour
    {
        [Tooltip("The gateway: http://host:port (gamegen serve's HTTP port)")]
        public string serverUrl = "http://127.0.0.1:50052";
        [Tooltip("A model that holds sessions (GameGen window: models marked 'sessions')")]
        public string model = "";
        public int seed;
        public bool openOnEnable = true;
        public StringEvent onError = new StringEvent();

        protected SessionClient session;
        Task<SessionClient> opening;
        SessionInputCall running;
        readonly Queue<SessionInput> waiting = new Queue<SessionInput>();
        CancellationTokenSource lifetime;

        public bool IsOpen { get { return session != null && session.Ended == null; } }
        public bool IsBusy { get { return running != null || waiting.Count > 0; } }

        protected abstract SessionOpen BuildOpen();
        protected abstract void OnSessionEvent(SessionEvent ev);

        protected virtual void OnEnable() { if (openOnEnable) Open(); }

        public void Open()
        {
            if (opening != null || session != null) return;
            lifetime = new CancellationTokenSource();
            opening = SessionClient.OpenAsync(serverUrl, BuildOpen(), lifetime.Token);
        }

        protected void Enqueue(SessionInput input)
        {
            waiting.Enqueue(input);
            Pump();
        }

        /// <summary>Stops the running input (its events end with stop reason "cancelled") and drops the waiting ones.</summary>
        public void CancelInput()
        {
            waiting.Clear();
            if (running != null && session != null) session.CancelAsync(running.InputId);
        }

        protected virtual void Update() { Pump(); }

        /// <summary>Finishes an open that completed, reads what arrived, starts the next waiting input.</summary>
        protected void Pump()
        {
            if (opening != null && opening.IsCompleted)
            {
                if (opening.Status == TaskStatus.RanToCompletion) session = opening.Result;
                else Report(opening.Exception == null ? null : opening.Exception.GetBaseException());
                opening = null;
            }
            if (session == null) return;
            if (running != null)
            {
                try
                {
                    SessionEvent ev;
                    while (!running.IsDone && running.TryRead(out ev)) OnSessionEvent(ev);
                    if (running.IsDone) running = null;
                }
                catch (GameGenException e) { running = null; Report(e); }
            }
            if (running == null && waiting.Count > 0 && session.Ended == null) running = session.Send(waiting.Dequeue());
            if (session.Ended != null && running == null && waiting.Count > 0)
            {
                waiting.Clear();
                Report(session.Ended);
            }
        }

        void Report(Exception e)
        {
            var message = e is GameGenException ? e.Message : "GameGen session: " + (e == null ? "failed" : e.Message);
            Debug.LogWarning(message, this);
            onError.Invoke(message);
        }

        protected virtual void OnDisable()
        {
            if (lifetime != null) lifetime.Cancel();
            var s = session;
            session = null;
            running = null;
            waiting.Clear();
            opening = null;
            if (s != null) s.CloseAsync().ContinueWith(t => s.Dispose());  // off the main thread; frees the server's session
        }
    }

    /// <summary>A dialog NPC: the persona is sent once at open; Say(line) sends the player's line and
    /// the reply streams into onText (the text so far) and onReply (line, emotion, action).</summary>
    public sealed class DialogSessionComponent : SessionComponent
    {
        public string npcName = "Brom";
        public string role = "";
        public string mood = "";
        public string speechStyle = "";
        public List<string> traits = new List<string>();
        public List<string> knowledge = new List<string>();
        public List<string> secrets = new List<string>();
        [Tooltip("Replies also name an emotion and an action from the lists below")]
        public bool structured;
        public List<string> actions = new List<string>();
        public List<string> emotions = new List<string>();

        public StringEvent onText = new StringEvent();
        public ReplyEvent onReply = new ReplyEvent();

        readonly System.Text.StringBuilder text = new System.Text.StringBuilder();

        protected override SessionOpen BuildOpen()
        {
            var open = new DialogOpen
            {
                Persona = new DialogPersona
                {
                    Name = npcName, Role = role, Mood = mood, SpeechStyle = speechStyle,
                    Traits = new List<string>(traits), Knowledge = new List<string>(knowledge), Secrets = new List<string>(secrets),
                },
                Structured = structured, Actions = new List<string>(actions), Emotions = new List<string>(emotions),
            };
            return new SessionOpen { Model = model, Seed = (ulong)Math.Max(0, seed), Dialog = open };
        }

        public void Say(string playerLine)
        {
            Enqueue(new SessionInput { Dialog = new DialogTurn { PlayerLine = playerLine } });
        }

        protected override void OnSessionEvent(SessionEvent ev)
        {
            if (ev.Partial != null && ev.Partial.TextDelta != null)
            {
                text.Append(ev.Partial.TextDelta.Text);
                onText.Invoke(text.ToString());
            }
            else if (ev.DialogReply != null) onReply.Invoke(ev.DialogReply.Line, ev.DialogReply.Emotion, ev.DialogReply.Action);
            else if (ev.End != null) text.Length = 0;
        }
    }

    /// <summary>An NPC driven by a behaviour model: every tickSeconds (counted in FixedUpdate) it asks
    /// observe() for the NPC's observation and sends it; each event the model answers with (an action)
    /// reaches onEvent as JSON. The NPC kind's messages are not in the v1 contract yet, so its open
    /// parameters and inputs travel as JSON objects of that kind's messages.</summary>
    public sealed class NpcSessionComponent : SessionComponent
    {
        [Tooltip("The kind's open message as JSON, e.g. {\"archetype\": \"guard\"}")]
        [TextArea] public string openJson = "{}";
        public float tickSeconds = 0.2f;
        public StringEvent onEvent = new StringEvent();

        /// <summary>Returns this tick's observation (the kind's input message), or null to skip a tick.</summary>
        public Func<JsonObject> observe;

        float untilTick;

        protected override SessionOpen BuildOpen()
        {
            var slash = model.IndexOf('/');
            return new SessionOpen
            {
                Model = model, Seed = (ulong)Math.Max(0, seed),
                OtherKind = slash < 0 ? model : model.Substring(0, slash), OtherParams = JsonParser.ParseObject(openJson),
            };
        }

        /// <summary>Sends one input now (queued behind a running one).</summary>
        public void Send(JsonObject input)
        {
            var slash = model.IndexOf('/');
            Enqueue(new SessionInput { OtherKind = slash < 0 ? model : model.Substring(0, slash), OtherInput = input });
        }

        void FixedUpdate()
        {
            untilTick -= Time.fixedDeltaTime;
            if (untilTick > 0 || observe == null || !IsOpen || IsBusy) return;
            untilTick = tickSeconds;
            var observation = observe();
            if (observation != null) Send(observation);
        }

        protected override void OnSessionEvent(SessionEvent ev)
        {
            if (ev.Raw != null) onEvent.Invoke(JsonWriter.Serialize(ev.Raw));
        }
    }
}
