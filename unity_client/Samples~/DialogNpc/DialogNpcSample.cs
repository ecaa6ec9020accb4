// A dialog NPC: add a DialogSessionComponent (model: a dialog model the server lists with sessions),
// then this script; press Space to say a line. The reply streams into the label as it is decoded.
using GameGen.Unity;
using UnityEngine;

[RequireComponent(typeof(DialogSessionComponent))]
public sealed class DialogNpcSample : MonoBehaviour
{
    public string playerLine = "Who goes there?";
    string shown = "";

    void Awake()
    {
        var npc = GetComponent<DialogSessionComponent>();
        npc.onText.AddListener(text => shown = text);
        npc.onReply.AddListener((line, emotion, action) => Debug.Log(npc.npcName + " (" + emotion + ", " + action + "): " + line));
        npc.onError.AddListener(message => shown = message);
    }

    void Update()
    {
        if (Input.GetKeyDown(KeyCode.Space)) GetComponent<DialogSessionComponent>().Say(playerLine);
    }

    void OnGUI() { GUI.Label(new Rect(10, 10, 600, 60), shown); }
}
