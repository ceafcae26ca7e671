/** The result shapes of the API methods the UI reads (field names as in the contract). */

export type CertCheck = 'pinned' | 'first-use' | 'off';

export type LinkState = 'offline' | 'connecting' | 'online' | 'waiting';

export interface LinkEx {
  AccountName_utf: string;
  Online_bool: boolean;
  State_str: LinkState;
  Hostname_str: string;
  Port_u32: number;
  TargetHubName_str: string;
  Username_str: string;
  ConnectedSince_dt: string;
  NextAttempt_dt: string;
  Reconnects_u32: number;
  Connections_u32: number;
  ConnectionsUp_u32: number;
  ConnectionsDown_u32: number;
  MaxConnection_u32: number;
  GrantedConnections_u32: number;
  HalfConnection_bool: boolean;
  UseEncrypt_bool: boolean;
  UseCompress_bool: boolean;
  ServerProductName_str: string;
  ServerVersion_u32: number;
  ServerBuild_u32: number;
  CipherName_str: string;
  TlsVersion_str: string;
  /** The certificate of the current connection (any form; compare with sameFingerprint). */
  ServerCertSha256_str: string;
  /** The trusted (pinned) fingerprint, 64 lower-case hex digits; '' when none (yet) or the check is off. */
  PinnedCertSha256_str: string;
  /** 'pinned': only the pinned certificate; 'first-use': the first login records it; 'off': nothing is checked. */
  CertCheck_str: CertCheck;
  /** Set while the cascade is refused because the server presented another certificate than the trusted one. */
  PresentedCertSha256_str: string;
  LastError_u32: number;
  LastErrorText_utf: string;
  LastErrorHint_utf: string;
  LastErrorTime_dt: string;
  FramesIn_u64: number;
  FramesOut_u64: number;
  BytesIn_u64: number;
  BytesOut_u64: number;
  Drops_u64: number;
  RateIn_u64: number;
  RateOut_u64: number;
}

export interface TrafficHistory {
  Interval_u32: number;
  PointList: Array<{ Time_dt: string; BytesInPerSec_u64: number; BytesOutPerSec_u64: number }>;
}

export interface BridgeEx {
  DeviceName_str: string;
  InterfaceName_str: string;
  TapMode_bool: boolean;
  LinuxBridge_str: string;
  Active_bool: boolean;
  Online_bool: boolean;
  Present_bool: boolean;
  Carrier_bool: boolean;
  SpeedMbps_u32: number;
  MacAddress_str: string;
  FramesIn_u64: number;
  FramesOut_u64: number;
  BytesIn_u64: number;
  BytesOut_u64: number;
  DropList: Array<{ Reason_str: string; Count_u64: number }>;
  LastError_utf: string;
}

export interface EthernetEx {
  DeviceName_str: string;
  MacAddress_str: string;
  Carrier_bool: boolean;
  SpeedMbps_u32: number;
  Mtu_u32: number;
  Addresses_str: string;
  Virtual_bool: boolean;
  InUse_bool: boolean;
}

export interface SystemStatus {
  Version_str: string;
  Hostname_str: string;
  CpuPercent_u32: number;
  MemTotal_u64: number;
  MemUsed_u64: number;
  TemperatureC_u32: number;
  HasTemperature_bool: boolean;
  SystemUptime_u64: number;
  ProcessUptime_u64: number;
  ProcessRss_u64: number;
  EventLoopDelayP99Us_u32: number;
  DiskTotal_u64: number;
  DiskUsed_u64: number;
  ConfigWarnings_utf: string;
}

export type Severity = 'low' | 'medium' | 'high';

export interface HealthWarning {
  Code_str: string;
  Target_str: string;
  Severity_str: Severity;
  Title_utf: string;
  Text_utf: string;
  BrokenSince_dt: string;
  ImpactsConnectivity_bool: boolean;
}

export interface HealthEvent {
  Time_dt: string;
  Code_str: string;
  Target_str: string;
  Severity_str: Severity;
  Healthy_bool: boolean;
  Text_utf: string;
}

export interface ResourcePoint {
  Time_dt: string;
  CpuPercent_u32: number;
  MemoryPercent_u32: number;
  DiskPercent_u32: number;
  TemperatureKnown_bool: boolean;
  TemperatureC_u32: number;
}

export interface ResourceHistory {
  Interval_u32: number;
  PointList: ResourcePoint[];
}

export interface HealthSettings {
  WebhookUrl_str: string;
  CpuWarnPercent_u32: number;
  MemoryWarnPercent_u32: number;
  DiskWarnPercent_u32: number;
  TemperatureWarnC_u32: number;
}

export interface LogEntry {
  Time_dt: string;
  Level_str: 'debug' | 'info' | 'warn' | 'error';
  Message_utf: string;
  Object_str: string;
}

/** EnumMacTableEx: where each address was learned, by the cascade's name or the bridged interface. */
export interface MacEntryEx {
  MacAddress_str: string;
  Port_str: string;
  PortKind_str: 'cascade' | 'local';
  /** The stock session name (SID-LINK-n / SID-LOCALBRIDGE-n), for matching with SoftEther's own tools. */
  SessionName_str: string;
  VlanId_u32: number;
  AgeSec_u32: number;
}

export interface TestLinkResult {
  Success_bool: boolean;
  Error_u32: number;
  ErrorText_utf: string;
  ErrorHint_utf: string;
  ServerProductName_str: string;
  ServerVersion_u32: number;
  ServerBuild_u32: number;
  GrantedConnections_u32: number;
  ServerCertSha256_str: string;
  CipherName_str: string;
  TlsVersion_str: string;
}

/** CreateLink / SetLink / GetLink parameters (VpnRpcCreateLink). */
export interface LinkParams {
  HubName_Ex_str: string;
  AccountName_utf: string;
  Online_bool?: boolean;
  Hostname_str: string;
  Port_u32: number;
  HubName_str: string;
  AuthType_u32: number;
  Username_str: string;
  HashedPassword_bin?: string;
  PlainPassword_str?: string;
  ClientX_bin?: string;
  ClientK_bin?: string;
  MaxConnection_u32: number;
  AdditionalConnectionInterval_u32: number;
  ConnectionDisconnectSpan_u32: number;
  HalfConnection_bool: boolean;
  UseCompress_bool: boolean;
  UseEncrypt_bool: boolean;
  DisableQoS_bool: boolean;
  CheckServerCert_bool: boolean;
  ServerCert_bin?: string;
  /** Pins a fingerprint directly (64 hex, colons allowed); '' forgets the pin (trusted again on first use). */
  ServerCertSha256_str?: string;
  ProxyType_u32: number;
  ProxyName_str: string;
  ProxyPort_u32: number;
  ProxyUsername_str: string;
  ProxyPassword_str?: string;
  CustomHttpHeader_str: string;
}

/** The one virtual hub of the appliance. */
export const HUB = 'BRIDGE';

export type UploadPhase = 'idle' | 'checking' | 'writing' | 'ready' | 'failed' | 'applying';

/** GetFirmwareInfo (src/control/api/methods/firmware.ts). */
export interface FirmwareInfo {
  Version_str: string;
  Arch_str: string;
  Kernel_str: string;
  HasSlots_bool: boolean;
  NoSlotsReason_utf: string;
  Slot_str: string;
  SlotDevice_str: string;
  ActiveSlot_str: string;
  Trial_bool: boolean;
  TrialConfirmed_bool: boolean;
  PendingSlot_str: string;
  OtherSlot_str: string;
  OtherDevice_str: string;
  OtherVersion_str: string;
  OtherKernel_str: string;
  OtherCreated_str: string;
  OtherSha256_str: string;
  OtherWritten_dt: string;
  KeyList: Array<{ Name_str: string; Fingerprint_str: string }>;
  KeyProblems_utf: string;
  UploadPath_str: string;
  MaxUploadBytes_u64: number;
  UploadPhase_str: UploadPhase;
  UploadReceived_u64: number;
  UploadTotal_u64: number;
  UploadWritten_u64: number;
  UploadRootfsSize_u64: number;
  UploadTargetSlot_str: string;
  UploadVersion_str: string;
  UploadKernel_str: string;
  UploadArch_str: string;
  UploadCreated_str: string;
  UploadSha256_str: string;
  UploadSignedBy_str: string;
  UploadDowngrade_bool: boolean;
  UploadStarted_dt: string;
  UploadFinished_dt: string;
  UploadReason_str: string;
  UploadError_utf: string;
}

/** The JSON answer of POST /firmware/upload. */
export type FirmwareUploadAnswer =
  | { ok: true; version: string; arch: string; kernel: string; created: string; rootfsSize: number; rootfsSha256: string; slot: string; signedBy: string; downgrade: boolean }
  | { ok: false; reason: string; error: string };
