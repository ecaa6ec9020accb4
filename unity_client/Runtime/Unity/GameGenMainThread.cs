using System;
using System.Collections.Concurrent;
using UnityEngine;

namespace GameGen.Unity
{
    /// <summary>Runs actions posted from any thread on Unity's main thread, in Update, at most
    /// maxPerFrame a frame so a burst of events never stalls one. The client's own paths need none of
    /// this (awaits resume on the main thread through Unity's SynchronizationContext, coroutines and
    /// TryRead run there); use it for handlers you call from worker threads yourself.</summary>
    public sealed class GameGenMainThread : MonoBehaviour
    {
        static readonly ConcurrentQueue<Action> queue = new ConcurrentQueue<Action>();
        static GameGenMainThread instance;

        public int maxPerFrame = 256;

        /// <summary>Queues an action for the main thread (creates the dispatcher object on first use,
        /// which must itself happen on the main thread; call Ensure() from Awake to be sure).</summary>
        public static void Post(Action action) { queue.Enqueue(action); }

        public static void Ensure()
        {
            if (instance != null) return;
            var go = new GameObject("GameGen main thread");
            DontDestroyOnLoad(go);
            instance = go.AddComponent<GameGenMainThread>();
        }

        void Update()
        {
            Action action;
            for (int i = 0; i < maxPerFrame && queue.TryDequeue(out action); i++)
            {
                try { action(); }
                catch (Exception e) { Debug.LogException(e, this); }
            }
        }
    }
}
