/**
 * zod schemas for the Engine API responses we read (API v1.41). Only the
 * fields volsnap uses are declared; everything else is stripped. Engine
 * versions send `null` for empty maps/lists, so those are normalised here.
 */
import { z } from "zod";

const labels = z.record(z.string(), z.string()).nullish().transform((v) => v ?? {});

export const VersionSchema = z.object({
  Version: z.string(),
  ApiVersion: z.string(),
});

export const ContainerSummarySchema = z.object({
  Id: z.string().min(1),
  Names: z.array(z.string()).nullish().transform((v) => v ?? []),
  State: z.string(),
  Labels: labels,
});
export const ContainerListSchema = z.array(ContainerSummarySchema);

export const MountSchema = z.object({
  Type: z.string(),
  Name: z.string().optional(),
  Source: z.string().optional().default(""),
  Destination: z.string(),
  Driver: z.string().optional(),
  RW: z.boolean(),
});

export const ContainerInspectSchema = z.object({
  Id: z.string().min(1),
  Name: z.string(),
  State: z.object({ Status: z.string(), StartedAt: z.string().optional() }),
  Config: z.object({ Labels: labels }).nullish(),
  HostConfig: z.object({
    NetworkMode: z.string().optional(),
    Tmpfs: z.record(z.string(), z.string()).nullish(),
  }).nullish(),
  Mounts: z.array(MountSchema).nullish().transform((v) => v ?? []),
});

export const VolumeInspectSchema = z.object({
  Name: z.string(),
  Driver: z.string(),
  Mountpoint: z.string(),
  Labels: labels,
  Options: z.record(z.string(), z.string()).nullish().transform((v) => v ?? {}),
});

export const ExecCreateSchema = z.object({ Id: z.string().min(1) });

export const ExecInspectSchema = z.object({
  Running: z.boolean(),
  ExitCode: z.number().int().nullable(),
});

/** Engine error body: `{"message": "..."}`. */
export const EngineErrorSchema = z.object({ message: z.string() });

/** A mount of a service's task template (`Spec.TaskTemplate.ContainerSpec.Mounts`). */
const ServiceMountSchema = z.object({
  Type: z.string().optional().default("volume"),
  Source: z.string().optional().default(""),
  Target: z.string(),
  ReadOnly: z.boolean().optional(),
  VolumeOptions: z.object({
    DriverConfig: z.object({ Name: z.string().optional() }).nullish(),
  }).nullish(),
});

/** `GET /services/{id}` (and each entry of `GET /services`). */
export const ServiceSchema = z.object({
  ID: z.string().min(1),
  Version: z.object({ Index: z.number().int() }),
  Spec: z.object({
    Name: z.string(),
    Labels: labels,
    TaskTemplate: z.object({
      ContainerSpec: z.object({
        Labels: labels,
        Mounts: z.array(ServiceMountSchema).nullish().transform((v) => v ?? []),
        /** Nanoseconds. */
        StopGracePeriod: z.number().optional(),
      }).nullish(),
    }).nullish(),
    Mode: z.object({
      Replicated: z.object({ Replicas: z.number().int().optional() }).nullish(),
      Global: z.object({}).nullish(),
      ReplicatedJob: z.object({}).nullish(),
      GlobalJob: z.object({}).nullish(),
    }).nullish(),
  }),
});
export const ServiceListSchema = z.array(ServiceSchema);

/** `GET /tasks` entries. */
export const TaskListSchema = z.array(z.object({
  ID: z.string(),
  ServiceID: z.string(),
  NodeID: z.string().optional().default(""),
  DesiredState: z.string(),
  Status: z.object({
    State: z.string(),
    ContainerStatus: z.object({ ContainerID: z.string().optional() }).nullish(),
  }),
}));

/** The Swarm part of `GET /info`. */
export const SwarmInfoSchema = z.object({
  Swarm: z.object({
    NodeID: z.string().optional().default(""),
    LocalNodeState: z.string().optional().default(""),
    ControlAvailable: z.boolean().optional().default(false),
  }).nullish(),
});
