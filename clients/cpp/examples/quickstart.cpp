// The README's C++ examples, whole: a level, a texture set and a piece of music from a gamegen
// server, written to the current folder, and one tick of an NPC scene.   usage: gamegen_quickstart [HOST:PORT]
#include <gamegen/client.h>

#include <chrono>
#include <fstream>
#include <iostream>

static void Save(const gamegen::Asset& asset) {
  std::ofstream(asset.name(), std::ios::binary) << asset.data();
}

int main(int argc, char** argv) {
  gamegen::Client client(argc > 1 ? argv[1] : "127.0.0.1:50051");
  try {
    // A level: typed parameters, events pulled as they stream.
    gamegen::Request level("levels/smb", /*seed=*/7);
    level.levels().set_width(300);
    level.Format("tmj").Format("png");
    auto call = client.Generate(level);
    for (const gamegen::Event& e : *call) {
      if (e.type() == gamegen::Event::Type::kLevelChunk) std::cout << "columns from " << e.level_chunk().x() << "\n";
      if (e.type() == gamegen::Event::Type::kAsset) Save(e.asset());
    }

    // A tileable PBR material (normal_dx: Unreal's green channel), with callbacks.
    gamegen::Request texture("textures/materials-gan", /*seed=*/3);
    texture.textures().set_material("brick");
    texture.Set("size", "512");  // by name, as ListModels reports the parameters
    texture.Formats({"albedo", "normal_dx", "roughness"});
    gamegen::Callbacks callbacks;
    callbacks.on_asset = Save;
    client.Generate(texture, callbacks).ThrowIfError();

    // Music bar by bar, with a deadline and a cancel handle any thread may fire (stop.Cancel()).
    gamegen::Request music("music/music-lstm", /*seed=*/11);
    music.music().set_key("D");
    music.music().set_mode("minor");
    music.music().set_loop(true);
    music.Format("mid").Format("wav");
    gamegen::CancelToken stop;
    gamegen::CallOptions options;
    options.timeout = std::chrono::seconds(30);
    options.cancel = stop;
    callbacks.on_music_bar = [](const gamegen::MusicBar& bar) { std::cout << "bar " << bar.index() << "\n"; };
    client.Generate(music, callbacks, options).ThrowIfError();

    // An NPC scene: a Session that lives on the server; one tick in, one action per agent out.
    gamegen::OpenRequest open("npc/npc-mlp", /*seed=*/7);
    open.npc().set_mode("argmax");
    gamegen::NpcAgent* orc = open.npc().add_agents();
    orc->set_agent_id("orc-1");
    orc->set_archetype("chase");
    auto scene = client.OpenSession(open);
    gamegen::NpcTick tick;
    gamegen::NpcObservation* o = tick.add_observations();  // world units: metres, seconds
    o->set_agent_id("orc-1");
    o->mutable_position()->set_x(4);
    o->mutable_position()->set_y(6);
    o->set_health(1.0);
    o->set_player_visible(true);
    o->mutable_player_position()->set_x(9);
    o->mutable_player_position()->set_y(6);
    gamegen::NpcActions actions;
    scene->Tick(tick, &actions).ThrowIfError();
    for (const gamegen::NpcAction& a : actions.actions()) std::cout << a.agent_id() << " " << a.name() << "\n";
    scene->Close().ThrowIfError();
  } catch (const gamegen::Error& e) {  // e.code(): gamegen::StatusCode::kNotFound, kUnavailable ...
    std::cerr << e.what() << "\n";
    return static_cast<int>(e.code());
  }
  return 0;
}
