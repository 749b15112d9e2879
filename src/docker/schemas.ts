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
