// GameGen runtime module: a Blueprint async action over the gamegen C++ client (clients/cpp).
//
// Not built in this repository's CI (no Unreal there). The client and its dependencies are linked
// prebuilt from ThirdParty/GameGenClient/<Platform>/, which README.md explains how to fill:
//   include/   gamegen/client.h, gamegen/v1/gamegen.pb.h, and the protobuf headers
//   lib/       libgamegen_client.a (gamegen_client.lib on Windows) and static gRPC, protobuf,
//              abseil, re2, c-ares, zlib, ssl libraries built for the same platform and toolchain
using System.IO;
using UnrealBuildTool;

public class GameGen : ModuleRules
{
	public GameGen(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;
		PublicDependencyModuleNames.AddRange(new string[] { "Core", "CoreUObject", "Engine" });

		string ClientRoot = Path.Combine(PluginDirectory, "ThirdParty", "GameGenClient", Target.Platform.ToString());
		string LibDir = Path.Combine(ClientRoot, "lib");
		if (!Directory.Exists(LibDir))
		{
			throw new BuildException("GameGen: no prebuilt client in " + ClientRoot + "; see Plugins/GameGen/README.md");
		}
		// Only the module's .cpp files include the client; the engine-facing header does not.
		PrivateIncludePaths.Add(Path.Combine(ClientRoot, "include"));
		string Pattern = Target.Platform == UnrealTargetPlatform.Win64 ? "*.lib" : "*.a";
		foreach (string Lib in Directory.GetFiles(LibDir, Pattern))
		{
			PublicAdditionalLibraries.Add(Lib);
		}
		if (Target.Platform == UnrealTargetPlatform.Linux || Target.Platform == UnrealTargetPlatform.Mac)
		{
			PublicSystemLibraries.AddRange(new string[] { "pthread", "dl" });
		}

		// The client reports errors as gamegen::Status in the calls used here, but Request::Set
		// throws gamegen::Error on a malformed value, which the action catches.
		bEnableExceptions = true;
		// Unreal compiles without RTTI; protobuf's headers have a switch for that (as other
		// gRPC-based Unreal plugins do).
		PrivateDefinitions.Add("GOOGLE_PROTOBUF_NO_RTTI=1");
	}
}
