-- As SQLite's ninth.
CREATE TABLE kube_nodes (
   cluster TEXT COLLATE "C" NOT NULL,
   name TEXT COLLATE "C" NOT NULL,
   labels TEXT NOT NULL,
   roles TEXT NOT NULL,
   kubelet_version TEXT NOT NULL,
   seen_at BIGINT NOT NULL,
   PRIMARY KEY (cluster, name)
);
