// Stand-in declarations of the UnityEngine APIs the package's Unity code uses, with Unity's
// signatures, so that mcs can compile Runtime/Unity, the samples and the Test Runner tests here
// (tests/test_unity_package.py). Bodies are empty: this checks the package's code, not Unity.
// Add a member here only with the signature from Unity's scripting reference.
#pragma warning disable 0067, 0649, 0169, 0414
using System;
using System.Collections.Generic;

namespace UnityEngine
{
    public class Object
    {
        public string name { get; set; }
        public static void Destroy(Object o) { }
        public static void DontDestroyOnLoad(Object target) { }
        public static void DestroyImmediate(Object o) { }
        public static implicit operator bool(Object o) { return !ReferenceEquals(o, null); }
    }
    public class ScriptableObject : Object
    {
        public static T CreateInstance<T>() where T : ScriptableObject, new() { return new T(); }
    }
    public class Component : Object
    {
        public Transform transform { get { return null; } }
        public GameObject gameObject { get { return null; } }
        public T GetComponent<T>() { return default(T); }
    }
    public class Behaviour : Component { public bool enabled { get; set; } }
    public class MonoBehaviour : Behaviour
    {
        public Coroutine StartCoroutine(System.Collections.IEnumerator routine) { return null; }
    }
    public sealed class Coroutine { }
    public class Transform : Component { public void SetParent(Transform parent) { } }
    public sealed class GameObject : Object
    {
        public GameObject(string name, params Type[] components) { }
        public Transform transform { get { return null; } }
        public T GetComponent<T>() { return default(T); }
        public T AddComponent<T>() where T : Component { return null; }
    }
    public class Texture : Object
    {
        public int width { get { return 0; } }
        public int height { get { return 0; } }
        public TextureWrapMode wrapMode { get; set; }
        public FilterMode filterMode { get; set; }
    }
    public enum TextureFormat { RGBA32 = 4, R16 = 9 }
    public enum TextureWrapMode { Repeat, Clamp }
    public enum FilterMode { Point, Bilinear, Trilinear }
    public sealed class Texture2D : Texture
    {
        public Texture2D(int width, int height, TextureFormat textureFormat, bool mipChain, bool linear) { }
        public TextureFormat format { get { return TextureFormat.RGBA32; } }
        public void SetPixelData<T>(T[] data, int mipLevel, int sourceDataStartIndex = 0) { }
        public void Apply(bool updateMipmaps = true, bool makeNoLongerReadable = false) { }
    }
    public static class ImageConversion
    {
        public static bool LoadImage(this Texture2D tex, byte[] data, bool markNonReadable) { return true; }
        public static bool LoadImage(this Texture2D tex, byte[] data) { return true; }
    }
    public sealed class Sprite : Object
    {
        public static Sprite Create(Texture2D texture, Rect rect, Vector2 pivot, float pixelsPerUnit) { return null; }
    }
    public sealed class AudioClip : Object
    {
        public float length { get { return 0; } }
        public static AudioClip Create(string name, int lengthSamples, int channels, int frequency, bool stream) { return null; }
        public bool SetData(float[] data, int offsetSamples) { return true; }
    }
    public sealed class AudioSource : Behaviour
    {
        public AudioClip clip { get; set; }
        public bool loop { get; set; }
        public void Play() { }
    }
    public sealed class TerrainData : Object
    {
        public int heightmapResolution { get; set; }
        public Vector3 size { get; set; }
        public void SetHeights(int xBase, int yBase, float[,] heights) { }
    }
    public sealed class Material : Object
    {
        public Texture mainTexture { get; set; }
        public void SetTexture(string name, Texture value) { }
        public void EnableKeyword(string keyword) { }
    }
    public class Renderer : Component { public Material material { get; set; } }
    public sealed class Grid : Behaviour { }
    public struct Vector2 { public float x, y; public Vector2(float x, float y) { this.x = x; this.y = y; } }
    public struct Vector3 { public float x, y, z; public Vector3(float x, float y, float z) { this.x = x; this.y = y; this.z = z; } }
    public struct Vector3Int { public Vector3Int(int x, int y, int z) { } }
    public struct Rect
    {
        public Rect(float x, float y, float width, float height) { }
    }
    public static class Debug
    {
        public static void Log(object message) { }
        public static void LogWarning(object message) { }
        public static void LogWarning(object message, Object context) { }
        public static void LogError(object message) { }
        public static void LogException(Exception exception, Object context) { }
    }
    public static class Time { public static float fixedDeltaTime { get { return 0.02f; } } }
    public static class Mathf { public static int RoundToInt(float f) { return (int)Math.Round(f); } }
    public enum KeyCode { Space = 32 }
    public static class Input { public static bool GetKeyDown(KeyCode key) { return false; } }
    public static class GUI { public static void Label(Rect position, string text) { } }
    public sealed class GUIContent
    {
        public GUIContent(string text) { }
        public GUIContent(string text, string tooltip) { }
    }
    public sealed class GUIStyle { public static implicit operator GUIStyle(string str) { return new GUIStyle(); } }
    public sealed class GUILayoutOption { }
    public static class GUILayout
    {
        public static bool Button(string text, params GUILayoutOption[] options) { return false; }
        public static bool Toggle(bool value, string text, GUIStyle style, params GUILayoutOption[] options) { return value; }
        public static GUILayoutOption Width(float width) { return null; }
        public static GUILayoutOption MaxHeight(float maxHeight) { return null; }
    }
    public static class GUILayoutUtility
    {
        public static Rect GetAspectRect(float aspect, params GUILayoutOption[] options) { return new Rect(); }
    }
    [AttributeUsage(AttributeTargets.Field)] public sealed class TooltipAttribute : Attribute { public TooltipAttribute(string tooltip) { } }
    [AttributeUsage(AttributeTargets.Field)] public sealed class TextAreaAttribute : Attribute { }
    [AttributeUsage(AttributeTargets.Class)] public sealed class RequireComponent : Attribute { public RequireComponent(Type t) { } }
    [AttributeUsage(AttributeTargets.Class)]
    public sealed class CreateAssetMenuAttribute : Attribute
    {
        public string menuName { get; set; }
        public string fileName { get; set; }
    }
}

namespace UnityEngine.Events
{
    public abstract class UnityEventBase { }
    public class UnityEvent<T0> : UnityEventBase
    {
        public void AddListener(Action<T0> call) { }
        public void Invoke(T0 arg0) { }
    }
    public class UnityEvent<T0, T1, T2> : UnityEventBase
    {
        public void AddListener(Action<T0, T1, T2> call) { }
        public void Invoke(T0 arg0, T1 arg1, T2 arg2) { }
    }
}

namespace UnityEngine.Tilemaps
{
    public abstract class TileBase : ScriptableObject { }
    public class Tile : TileBase { public Sprite sprite { get; set; } }
    public sealed class Tilemap : Behaviour
    {
        public void ClearAllTiles() { }
        public void SetTile(Vector3Int position, TileBase tile) { }
        public int GetUsedTilesCount() { return 0; }
    }
}

namespace UnityEngine.TestTools
{
    [AttributeUsage(AttributeTargets.Method)] public sealed class UnityTestAttribute : Attribute { }
}

namespace NUnit.Framework
{
    public static class Assert
    {
        public static void Ignore(string message) { }
        public static void IsNull(object o) { }
        public static void AreEqual(object expected, object actual) { }
        public static void Greater(int a, int b) { }
        public static void Greater(float a, float b) { }
    }
    public static class StringAssert { public static void Contains(string expected, string actual) { } }
}

namespace UnityEngine
{
    public class AsyncOperation
    {
        public bool isDone { get { return true; } }
        public event Action<AsyncOperation> completed;
    }

    public enum RuntimeInitializeLoadType { AfterSceneLoad = 0, BeforeSceneLoad = 1, AfterAssembliesLoaded = 2, BeforeSplashScreen = 3, SubsystemRegistration = 4 }

    [AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
    public sealed class RuntimeInitializeOnLoadMethodAttribute : Attribute
    {
        public RuntimeInitializeOnLoadMethodAttribute() { }
        public RuntimeInitializeOnLoadMethodAttribute(RuntimeInitializeLoadType loadType) { }
    }
}

namespace UnityEngine.Networking
{
    public class UnityWebRequestAsyncOperation : AsyncOperation
    {
        public UnityWebRequest webRequest { get { return null; } }
    }

    public class UnityWebRequest : IDisposable
    {
        public const string kHttpVerbGET = "GET";
        public const string kHttpVerbPOST = "POST";
        public UnityWebRequest(string url, string method) { }
        public static UnityWebRequest Get(string uri) { return null; }
        public string url { get; set; }
        public string method { get; set; }
        public UploadHandler uploadHandler { get; set; }
        public DownloadHandler downloadHandler { get; set; }
        public int timeout { get; set; }
        public bool isDone { get { return false; } }
        public long responseCode { get { return 0; } }
        public string error { get { return null; } }
        public void SetRequestHeader(string name, string value) { }
        public UnityWebRequestAsyncOperation SendWebRequest() { return null; }
        public void Abort() { }
        public void Dispose() { }
    }

    public class UploadHandler : IDisposable
    {
        public string contentType { get; set; }
        public void Dispose() { }
    }

    public sealed class UploadHandlerRaw : UploadHandler
    {
        public UploadHandlerRaw(byte[] data) { }
    }

    public class DownloadHandler : IDisposable
    {
        public byte[] data { get { return null; } }
        public string text { get { return null; } }
        public bool isDone { get { return false; } }
        protected virtual bool ReceiveData(byte[] data, int dataLength) { return true; }
        protected virtual void CompleteContent() { }
        public void Dispose() { }
    }

    public class DownloadHandlerScript : DownloadHandler
    {
        public DownloadHandlerScript() { }
        public DownloadHandlerScript(byte[] preallocatedBuffer) { }
    }
}
