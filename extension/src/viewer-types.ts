/**
 * Minimal type declarations for the parts of OHIF 3.13 and Cornerstone3D 5.6.8 this extension
 * touches. They describe objects the running viewer hands us (nothing here exists at run time);
 * written by hand because @ohif/core only installs with legacy peer dependencies and the
 * Cornerstone packages would pull their whole dependency trees for a few signatures.
 */

export type Point3 = [number, number, number];
export type Point2 = [number, number];

interface CsImage {
  imageId: string;
  rows: number;
  columns: number;
  voxelManager: {
    getScalarData?: () => ArrayLike<number> & { [i: number]: number };
    getCompleteScalarDataArray?: () => ArrayLike<number> & { [i: number]: number };
    setCompleteScalarDataArray?: (data: ArrayLike<number>) => void;
    getAtIndex: (i: number) => number;
    setAtIndex: (i: number, v: number) => void;
  };
}

export interface StackViewport {
  id: string;
  element: HTMLDivElement;
  getCurrentImageId(): string;
  getCurrentImageIdIndex(): number;
  getImageIds(): string[];
  getProperties(): { voiRange?: { lower: number; upper: number } };
  worldToCanvas(p: Point3): Point2;
  render(): void;
}

export interface CornerstoneCore {
  cache: { getImage(imageId: string): CsImage | undefined };
  metaData: { get(type: string, imageId: string): any };
  getEnabledElement(element: HTMLElement): { viewport: StackViewport } | undefined;
  utilities: {
    worldToImageCoords(imageId: string, world: Point3): Point2 | undefined;
    imageToWorldCoords(imageId: string, image: Point2): Point3 | undefined;
    uuidv4?(): string;
    /** Cornerstone's undo history; DefaultHistoryMemo is the one OHIF's undo/redo commands use. */
    HistoryMemo?: { DefaultHistoryMemo: UndoHistory };
  };
  Enums: { Events: Record<string, string> };
  eventTarget: EventTarget;
  imageLoader?: { loadAndCacheImage(imageId: string, options?: Record<string, unknown>): Promise<unknown> };
}

interface UndoHistory {
  push(memo: { id: string; operationType: string; restoreMemo(undo?: boolean): void }): unknown;
  undo(items?: number): void;
  redo(items?: number): void;
  readonly canUndo: boolean;
  readonly canRedo: boolean;
  /** Memos pushed between these two are one step (Cornerstone 3.x+ / OHIF 3.12 and later). */
  startGroupRecording?(): void;
  endGroupRecording?(): void;
}

interface ToolEventDetail {
  element: HTMLDivElement;
  currentPoints: { world: Point3; canvas: Point2 };
  startPoints?: { world: Point3; canvas: Point2 };
  event?: MouseEvent;
}

export type ToolEvent = CustomEvent<ToolEventDetail>;

interface SvgDrawingHelper {
  svgLayerElement: SVGElement;
}

interface BaseToolInstance {
  toolName: string;
  configuration: Record<string, unknown>;
  mode: string;
}

type LabelmapBaseToolClass = new (toolProps: Record<string, unknown>, defaultToolProps: Record<string, unknown>) => BaseToolInstance;

export interface CornerstoneTools {
  LabelmapBaseTool: LabelmapBaseToolClass;
  addTool(cls: unknown): void;
  state?: { isInteractingWithTool?: boolean };
  Enums: {
    Events: Record<string, string>;
    MouseBindings: Record<string, number>;
    KeyboardBindings: Record<string, number>;
  };
  segmentation: {
    getLabelmapImageIdsForImageId?(imageId: string, segmentationId: string): string[] | string | undefined;
    /** Slices are k indices of the position-sorted volume; the segment index lets OHIF recompute that segment's statistics. */
    triggerSegmentationEvents: { triggerSegmentationDataModified(segmentationId: string, modifiedSlices?: number[], segmentIndex?: number): void };
    segmentIndex: { getActiveSegmentIndex(segmentationId: string): number | undefined };
    activeSegmentation: { getActiveSegmentation(viewportId: string): { segmentationId: string } | undefined };
    state?: {
      getViewportIdsWithSegmentation?(segmentationId: string): string[];
      getSegmentation?(segmentationId: string): { representationData?: { Labelmap?: { imageIds?: string[]; labelmaps?: Record<string, { imageIds?: string[] } | undefined> } } } | undefined;
    };
    /** Per-viewport segment colours (RGBA 0-255), absent in Cornerstone versions without them. */
    config?: {
      color?: {
        getSegmentIndexColor(viewportId: string, segmentationId: string, segmentIndex: number): number[] | null | undefined;
        setSegmentIndexColor(viewportId: string, segmentationId: string, segmentIndex: number, color: number[]): void;
      };
    };
  };
  utilities: { triggerAnnotationRenderForViewportIds(ids: string[]): void };
  drawing: {
    drawCircle(svg: SvgDrawingHelper, uid: string, id: string, center: Point2, radius: number, options: Record<string, unknown>): void;
    drawRect(svg: SvgDrawingHelper, uid: string, id: string, p1: Point2, p2: Point2, options: Record<string, unknown>): void;
  };
}

interface PubSub {
  subscribe(event: string, cb: (...args: any[]) => void): { unsubscribe(): void };
  EVENTS: Record<string, string>;
}

export interface DisplaySet {
  displaySetInstanceUID: string;
  StudyInstanceUID: string;
  SeriesInstanceUID: string;
  Modality?: string;
  imageIds?: string[];
  isReconstructable?: boolean;
}

export interface OhifServices {
  segmentationService: PubSub & {
    getActiveSegmentation(viewportId: string): { segmentationId: string } | undefined;
    getSegmentations(): { segmentationId: string }[];
    createLabelmapForDisplaySet(ds: DisplaySet, opts?: Record<string, unknown>): Promise<string>;
    addSegmentationRepresentation(viewportId: string, opts: { segmentationId: string; type?: string }): Promise<void>;
    getActiveSegment?(viewportId: string): { segmentIndex: number } | undefined;
  };
  viewportGridService: PubSub & {
    getActiveViewportId(): string;
    getDisplaySetsUIDsForViewport(viewportId: string): string[];
  };
  displaySetService: PubSub & { getDisplaySetByUID(uid: string): DisplaySet | undefined };
  cornerstoneViewportService: PubSub & { getCornerstoneViewport(viewportId: string): StackViewport | undefined };
  toolGroupService: PubSub & {
    getToolGroupForViewport(viewportId: string): { id: string; getToolInstance(name: string): unknown } | undefined;
    getToolGroup(id: string): { setToolActive(name: string, o: unknown): void; addTool(name: string, c?: unknown): void; hasTool?(name: string): boolean; getToolInstance(name: string): unknown } | undefined;
  };
  userAuthenticationService?: { getAuthorizationHeader?(): { Authorization?: string } | undefined };
  uiNotificationService?: { show(o: { title: string; message: string; type: string; duration?: number }): void };
  toolbarService?: unknown;
}

export interface ServicesManager {
  services: OhifServices;
}

export interface ExtensionManager {
  getModuleEntry(id: string): { exports: any } | undefined;
}

export interface CommandsManager {
  runCommand(name: string, options?: Record<string, unknown>, context?: string): unknown;
}
