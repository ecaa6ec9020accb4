// Stand-in declarations of the UnityEditor APIs the package's Editor code uses (see UnityEngine.cs).
#pragma warning disable 0067, 0649
using System;
using UnityEngine;

namespace UnityEditor
{
    [AttributeUsage(AttributeTargets.Method)] public sealed class MenuItem : Attribute { public MenuItem(string itemName) { } }
    [AttributeUsage(AttributeTargets.Class)] public sealed class CustomEditor : Attribute { public CustomEditor(Type inspectedType) { } }

    public class EditorWindow : ScriptableObject
    {
        public static T GetWindow<T>(string title) where T : EditorWindow { return null; }
        public void Repaint() { }
    }
    public class Editor : ScriptableObject
    {
        public UnityEngine.Object target { get { return null; } }
        public virtual void OnInspectorGUI() { }
        public bool DrawDefaultInspector() { return true; }
    }
    public static class EditorPrefs
    {
        public static string GetString(string key, string defaultValue) { return defaultValue; }
        public static void SetString(string key, string value) { }
    }
    public static class EditorApplication
    {
        public delegate void CallbackFunction();
        public static CallbackFunction update;
    }
    public enum MessageType { None, Info, Warning, Error }
    public static class EditorStyles
    {
        public static GUIStyle wordWrappedMiniLabel { get { return null; } }
        public static GUIStyle miniLabel { get { return null; } }
        public static GUIStyle textArea { get { return null; } }
    }
    public static class EditorGUILayout
    {
        public static void BeginHorizontal(params GUILayoutOption[] options) { }
        public static void EndHorizontal() { }
        public static Vector2 BeginScrollView(Vector2 scrollPosition, params GUILayoutOption[] options) { return scrollPosition; }
        public static void EndScrollView() { }
        public static string TextField(string label, string text, params GUILayoutOption[] options) { return text; }
        public static string TextField(GUIContent label, string text, params GUILayoutOption[] options) { return text; }
        public static string TextArea(string text, GUIStyle style, params GUILayoutOption[] options) { return text; }
        public static void HelpBox(string message, MessageType type) { }
        public static int Popup(string label, int selectedIndex, string[] displayedOptions, params GUILayoutOption[] options) { return selectedIndex; }
        public static int Popup(GUIContent label, int selectedIndex, GUIContent[] displayedOptions, params GUILayoutOption[] options) { return selectedIndex; }
        public static void LabelField(string label, params GUILayoutOption[] options) { }
        public static void LabelField(string label, GUIStyle style, params GUILayoutOption[] options) { }
        public static void LabelField(string label, string label2, params GUILayoutOption[] options) { }
        public static int IntField(string label, int value, params GUILayoutOption[] options) { return value; }
        public static int IntSlider(GUIContent label, int value, int leftValue, int rightValue, params GUILayoutOption[] options) { return value; }
        public static float Slider(GUIContent label, float value, float leftValue, float rightValue, params GUILayoutOption[] options) { return value; }
        public static bool Toggle(GUIContent label, bool value, params GUILayoutOption[] options) { return value; }
        public static UnityEngine.Object ObjectField(GUIContent label, UnityEngine.Object obj, Type objType, bool allowSceneObjects, params GUILayoutOption[] options) { return obj; }
        public static Rect GetControlRect(params GUILayoutOption[] options) { return new Rect(); }
        public static void Space() { }
    }
    public static class EditorGUI
    {
        public struct DisabledScope : IDisposable { public DisabledScope(bool disabled) { } public void Dispose() { } }
        public static void ProgressBar(Rect position, float value, string text) { }
        public static void DrawPreviewTexture(Rect position, Texture image) { }
    }
    public static class AssetDatabase
    {
        public static string GetAssetPath(UnityEngine.Object assetObject) { return ""; }
        public static void Refresh() { }
        public static T LoadAssetAtPath<T>(string assetPath) where T : UnityEngine.Object { return null; }
        public static void CreateAsset(UnityEngine.Object asset, string path) { }
        public static void SaveAssets() { }
    }
    public static class EditorUtility { public static void SetDirty(UnityEngine.Object target) { } }
    public class AssetImporter : UnityEngine.Object { }
    public enum TextureImporterType { Default = 0, NormalMap = 1, SingleChannel = 10 }
    public enum TextureImporterCompression { Uncompressed = 0, Compressed = 1 }
    public sealed class TextureImporter : AssetImporter
    {
        public TextureImporterType textureType { get; set; }
        public bool flipGreenChannel { get; set; }
        public bool sRGBTexture { get; set; }
        public bool mipmapEnabled { get; set; }
        public TextureImporterCompression textureCompression { get; set; }
        public FilterMode filterMode { get; set; }
        public TextureWrapMode wrapMode { get; set; }
    }
    public class AssetPostprocessor
    {
        public string assetPath { get { return ""; } }
        public AssetImporter assetImporter { get { return null; } }
    }
}
