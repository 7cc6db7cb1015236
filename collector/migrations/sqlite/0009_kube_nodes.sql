-- Node objects of the cluster the collector runs in (labels, roles, kubelet version).
CREATE TABLE kube_nodes (
   cluster TEXT NOT NULL,
   name TEXT NOT NULL,
   labels TEXT NOT NULL,
   roles TEXT NOT NULL,
   kubelet_version TEXT NOT NULL,
   seen_at INTEGER NOT NULL,
   PRIMARY KEY (cluster, name)
);
