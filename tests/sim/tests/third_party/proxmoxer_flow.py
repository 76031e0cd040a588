"""An ordinary third-party PVE API client (proxmoxer), unmodified, against
the simulator: log in with the sandbox's password, list resources, clone a
template by VMID, wait for the task, read the new config. Prints one JSON
line with what it saw; exits non-zero on any failure."""
import json
import sys

from proxmoxer import ProxmoxAPI
from proxmoxer.tools import Tasks

sandbox = json.load(open(sys.argv[1]))
node = sandbox["nodes"][0]
api = ProxmoxAPI(
    node["address"],
    port=node["port"],
    user=sandbox["user"],
    password=sandbox["password"],
    verify_ssl=sandbox["ca"],
    timeout=30,
)
resources = api.cluster.resources.get(type="vm")
templates = [r for r in resources if r.get("template") == 1 and r["node"] == node["name"]]
template = min(templates, key=lambda r: r["vmid"])
newid = int(api.cluster.nextid.get())
upid = api.nodes(node["name"]).qemu(template["vmid"]).clone.post(newid=newid, name="proxmoxer-clone", full=1)
status = Tasks.blocking_status(api, upid, timeout=60, polling_interval=0.05)
config = api.nodes(node["name"]).qemu(newid).config.get()

token_api = ProxmoxAPI(
    node["address"],
    port=node["port"],
    user=sandbox["token"]["id"].split("!")[0],
    token_name=sandbox["token"]["id"].split("!")[1],
    token_value=sandbox["token"]["secret"],
    verify_ssl=sandbox["ca"],
)
version = token_api.version.get()

print(json.dumps({
    "resources": len(resources),
    "template": template["vmid"],
    "newid": newid,
    "exitstatus": status.get("exitstatus"),
    "name": config.get("name"),
    "scsi0": config.get("scsi0"),
    "lock": config.get("lock"),
    "version": version.get("version"),
}))
