package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
)

// listPluginsScript prints, for every installed distribution that ships a
// top-level pulumi-plugin.json, the distribution and the parsed file.
const listPluginsScript = `import importlib.metadata as md, json
out = []
for d in md.distributions():
    for f in d.files or []:
        if f.name == "pulumi-plugin.json" and len(f.parts) == 2:
            try:
                out.append({"dist": d.metadata["Name"], "version": d.version, "plugin": json.loads(f.read_text())})
            except Exception:
                pass
            break
print(json.dumps(out))`

type pluginEntry struct {
	Dist    string                  `json:"dist"`
	Version string                  `json:"version"`
	Plugin  plugin.PulumiPluginJSON `json:"plugin"`
}

func (h *host) GetRequiredPackages(ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	opts, err := options(req.Info, false)
	if err != nil {
		return nil, err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return nil, err
	}
	if err := tc.EnsureVenv(ctx, req.Info.ProgramDirectory, false, true, os.Stderr, os.Stderr); err != nil {
		return nil, err
	}
	cmd, err := tc.Command(ctx, "-c", listPluginsScript)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing installed Pulumi packages: %w", err)
	}
	pkgs, err := requiredPackages(out)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: pkgs}, nil
}

// requiredPackages turns listPluginsScript's output into the resource plugins the
// program needs: entries without `"resource": true` or without a version are skipped,
// the name defaults to the distribution name without its "pulumi-" prefix, and
// versions get the "v" prefix the engine expects.
func requiredPackages(out []byte) ([]*pulumirpc.PackageDependency, error) {
	var entries []pluginEntry
	if err := json.Unmarshal(out, &entries); err != nil {
		return nil, fmt.Errorf("parsing installed Pulumi packages: %w", err)
	}
	var pkgs []*pulumirpc.PackageDependency
	for _, e := range entries {
		p := e.Plugin
		if !p.Resource {
			continue
		}
		name := p.Name
		if name == "" {
			name = strings.TrimPrefix(strings.ToLower(e.Dist), "pulumi-")
		}
		ver := p.Version
		if ver == "" {
			logging.V(5).Infof("skipping %s: pulumi-plugin.json has no version", e.Dist)
			continue
		}
		if !strings.HasPrefix(ver, "v") {
			ver = "v" + ver
		}
		dep := &pulumirpc.PackageDependency{Name: name, Version: ver, Kind: "resource", Server: p.Server}
		if p.Parameterization != nil {
			dep.Parameterization = &pulumirpc.PackageParameterization{
				Name: p.Parameterization.Name, Version: p.Parameterization.Version, Value: p.Parameterization.Value,
			}
		}
		pkgs = append(pkgs, dep)
	}
	return pkgs, nil
}
