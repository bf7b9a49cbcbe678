// The category tree (10 parents, 40 children) and ~300 skills of the synthetic marketplace. Each
// parent names the price family of profile-distributions.ts that shifts its providers' rates.
import type { PRICE_LOG_SHIFT_BY_FAMILY } from './profile-distributions.js';

export interface TaxonomyParent {
  slug: string;
  name: string;
  family: keyof typeof PRICE_LOG_SHIFT_BY_FAMILY;
  children: Record<string, string[]>;
}

export const TAXONOMY: readonly TaxonomyParent[] = [
  { slug: 'software-development', name: 'Software Development', family: 'programming', children: {
    'Backend Development': ['Node.js', 'TypeScript', 'Python', 'Django', 'Go', 'Java', 'Spring Boot', 'PostgreSQL'],
    'Mobile Development': ['React Native', 'Flutter', 'Swift', 'Kotlin', 'iOS', 'Android', 'Firebase'],
    'Desktop Applications': ['C#', '.NET', 'Electron', 'C++', 'Qt', 'WPF', 'Rust'],
    'QA & Testing': ['Selenium', 'Cypress', 'Playwright', 'Test Automation', 'Manual Testing', 'JMeter', 'Postman'],
  } },
  { slug: 'web-development', name: 'Web Development', family: 'web', children: {
    'Frontend Development': ['JavaScript', 'React', 'Vue.js', 'Angular', 'HTML', 'CSS', 'Tailwind CSS', 'Next.js'],
    'CMS & E-commerce': ['WordPress', 'Shopify', 'WooCommerce', 'Magento', 'Wix', 'Webflow', 'Drupal', 'PHP'],
    'Web Performance & Hosting': ['Nginx', 'Web Hosting', 'Cloudflare', 'Page Speed', 'cPanel', 'Linux Administration', 'SSL'],
    'Full-Stack Development': ['Laravel', 'Ruby on Rails', 'MySQL', 'MongoDB', 'Express.js', 'GraphQL', 'REST API'],
  } },
  { slug: 'data-ai', name: 'Data Science & AI', family: 'programming', children: {
    'Machine Learning': ['TensorFlow', 'PyTorch', 'scikit-learn', 'Deep Learning', 'Computer Vision', 'NLP', 'LLM Fine-Tuning'],
    'Data Analysis': ['Pandas', 'SQL', 'R', 'Statistics', 'Excel Modelling', 'Data Cleaning', 'A/B Testing', 'SPSS'],
    'Data Engineering': ['Apache Spark', 'Airflow', 'dbt', 'Kafka', 'Snowflake', 'BigQuery', 'ETL'],
    'Business Intelligence': ['Power BI', 'Tableau', 'Looker', 'Data Visualization', 'Google Data Studio', 'Dashboards', 'Metabase'],
  } },
  { slug: 'design-creative', name: 'Design & Creative', family: 'design', children: {
    'Graphic Design': ['Adobe Photoshop', 'Adobe Illustrator', 'Logo Design', 'Brand Identity', 'Flyer Design', 'Packaging Design', 'InDesign', 'Canva'],
    'UI/UX Design': ['Figma', 'Sketch', 'Wireframing', 'Prototyping', 'User Research', 'Adobe XD', 'Design Systems'],
    'Video & Animation': ['Video Editing', 'Adobe Premiere Pro', 'After Effects', 'Motion Graphics', '2D Animation', 'Whiteboard Animation', 'DaVinci Resolve'],
    '3D & Illustration': ['Blender', '3D Modelling', 'Digital Illustration', 'Character Design', 'Cinema 4D', 'Product Rendering', 'Children\'s Book Illustration'],
  } },
  { slug: 'writing', name: 'Writing & Content', family: 'writing', children: {
    'Content Writing': ['Blog Writing', 'Article Writing', 'SEO Writing', 'Ghostwriting', 'Creative Writing', 'Proofreading', 'Editing', 'Product Descriptions'],
    'Copywriting': ['Sales Copy', 'Email Copywriting', 'Ad Copy', 'Landing Page Copy', 'Brand Voice', 'UX Writing', 'Scriptwriting'],
    'Technical Writing': ['API Documentation', 'User Manuals', 'White Papers', 'Grant Writing', 'Research Writing', 'Markdown', 'Knowledge Bases'],
    'Resume & Career': ['Resume Writing', 'Cover Letters', 'LinkedIn Profiles', 'Career Coaching', 'Bios', 'Interview Coaching', 'Personal Statements'],
  } },
  { slug: 'translation', name: 'Translation & Languages', family: 'translation', children: {
    'European Languages': ['English to Spanish', 'English to French', 'English to German', 'English to Italian', 'English to Portuguese', 'Dutch Translation', 'Polish Translation'],
    'Asian Languages': ['English to Chinese', 'English to Japanese', 'English to Korean', 'Hindi Translation', 'Bengali Translation', 'Urdu Translation', 'Indonesian Translation'],
    'Localization': ['Software Localization', 'Game Localization', 'Website Localization', 'Subtitling', 'Transcription', 'Voice Over', 'Interpretation'],
    'Specialised Translation': ['Legal Translation', 'Medical Translation', 'Technical Translation', 'Financial Translation', 'Certified Translation', 'Arabic Translation', 'Russian Translation'],
  } },
  { slug: 'marketing', name: 'Sales & Marketing', family: 'marketing', children: {
    'Digital Marketing': ['SEO', 'Google Ads', 'Facebook Ads', 'Social Media Marketing', 'Email Marketing', 'Content Strategy', 'Influencer Marketing', 'Link Building'],
    'Marketing Analytics': ['Google Analytics', 'Google Tag Manager', 'Conversion Optimization', 'Marketing Automation', 'HubSpot', 'Attribution', 'Market Research'],
    'Sales & Lead Generation': ['Lead Generation', 'Cold Calling', 'B2B Sales', 'Salesforce', 'CRM Management', 'LinkedIn Outreach', 'Appointment Setting'],
    'E-commerce Marketing': ['Amazon FBA', 'Amazon PPC', 'Etsy SEO', 'Product Listing', 'Dropshipping', 'Marketplace Management', 'eBay'],
  } },
  { slug: 'finance-accounting', name: 'Finance & Accounting', family: 'finance', children: {
    'Bookkeeping': ['QuickBooks', 'Xero', 'Bookkeeping', 'Accounts Payable', 'Bank Reconciliation', 'Payroll', 'Invoicing'],
    'Financial Analysis': ['Financial Modelling', 'Valuation', 'Forecasting', 'Budgeting', 'Investment Research', 'Pitch Decks', 'Business Plans'],
    'Tax & Compliance': ['Tax Preparation', 'VAT', 'US Tax', 'Audit', 'IFRS', 'GAAP', 'Compliance'],
    'Crypto & Fintech': ['Solidity', 'Smart Contracts', 'Blockchain', 'Web3', 'DeFi', 'Crypto Trading', 'Tokenomics'],
  } },
  { slug: 'admin-support', name: 'Admin & Customer Support', family: 'other', children: {
    'Virtual Assistance': ['Virtual Assistant', 'Calendar Management', 'Email Management', 'Travel Planning', 'Research', 'Google Workspace', 'Microsoft Office'],
    'Data Entry': ['Data Entry', 'Web Scraping', 'Copy Paste', 'Data Mining', 'PDF Conversion', 'Typing', 'Spreadsheets'],
    'Customer Support': ['Customer Service', 'Zendesk', 'Live Chat', 'Phone Support', 'Technical Support', 'Intercom', 'Ticketing'],
    'Project Management': ['Project Management', 'Agile', 'Scrum', 'Jira', 'Asana', 'Trello', 'Notion'],
  } },
  { slug: 'engineering-architecture', name: 'Engineering & Architecture', family: 'other', children: {
    'CAD & Drafting': ['AutoCAD', 'SolidWorks', 'Revit', 'Fusion 360', 'Drafting', 'SketchUp', 'CATIA'],
    'Electrical & Electronics': ['PCB Design', 'Arduino', 'Raspberry Pi', 'Embedded C', 'IoT', 'Circuit Design', 'PLC Programming'],
    'Architecture & Interior': ['Interior Design', '3D Rendering', 'Floor Plans', 'Landscape Design', 'Architectural Design', 'Lumion', 'V-Ray'],
    'Cloud & DevOps': ['AWS', 'Docker', 'Kubernetes', 'Terraform', 'CI/CD', 'Azure', 'Google Cloud'],
  } },
];

export function slugify(text: string): string {
  return text.toLowerCase().replace(/\+/g, 'plus').replace(/#/g, 'sharp').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

export interface QualificationSpec {
  slug: string;
  name: string;
  issuer: string;
  /** Child category names (keys of TAXONOMY[].children) the qualification is relevant to. */
  categories: string[];
}

/** Certifications providers may hold and jobs may require, each tied to child categories. */
export const QUALIFICATIONS: readonly QualificationSpec[] = [
  { slug: 'aws-solutions-architect', name: 'AWS Certified Solutions Architect – Associate', issuer: 'Amazon Web Services', categories: ['Cloud & DevOps', 'Backend Development'] },
  { slug: 'cka', name: 'Certified Kubernetes Administrator (CKA)', issuer: 'The Linux Foundation', categories: ['Cloud & DevOps'] },
  { slug: 'azure-administrator', name: 'Microsoft Certified: Azure Administrator Associate', issuer: 'Microsoft', categories: ['Cloud & DevOps', 'Web Performance & Hosting'] },
  { slug: 'oracle-java-se', name: 'Oracle Certified Professional: Java SE Developer', issuer: 'Oracle', categories: ['Backend Development', 'Desktop Applications'] },
  { slug: 'istqb-foundation', name: 'ISTQB Certified Tester Foundation Level', issuer: 'ISTQB', categories: ['QA & Testing'] },
  { slug: 'meta-front-end', name: 'Meta Front-End Developer Professional Certificate', issuer: 'Meta', categories: ['Frontend Development', 'Full-Stack Development'] },
  { slug: 'tensorflow-developer', name: 'TensorFlow Developer Certificate', issuer: 'Google', categories: ['Machine Learning'] },
  { slug: 'gcp-data-engineer', name: 'Google Cloud Professional Data Engineer', issuer: 'Google Cloud', categories: ['Data Engineering', 'Machine Learning'] },
  { slug: 'tableau-desktop-specialist', name: 'Tableau Desktop Specialist', issuer: 'Tableau', categories: ['Business Intelligence', 'Data Analysis'] },
  { slug: 'power-bi-data-analyst', name: 'Microsoft Certified: Power BI Data Analyst Associate', issuer: 'Microsoft', categories: ['Business Intelligence', 'Data Analysis'] },
  { slug: 'adobe-certified-graphic-design', name: 'Adobe Certified Professional: Graphic Design & Illustration', issuer: 'Adobe', categories: ['Graphic Design', '3D & Illustration'] },
  { slug: 'adobe-certified-video', name: 'Adobe Certified Professional: Video Design', issuer: 'Adobe', categories: ['Video & Animation'] },
  { slug: 'google-ux-design', name: 'Google UX Design Professional Certificate', issuer: 'Google', categories: ['UI/UX Design'] },
  { slug: 'hubspot-content-marketing', name: 'HubSpot Content Marketing Certification', issuer: 'HubSpot Academy', categories: ['Content Writing', 'Copywriting', 'Digital Marketing'] },
  { slug: 'cptc', name: 'Certified Professional Technical Communicator (CPTC)', issuer: 'Society for Technical Communication', categories: ['Technical Writing'] },
  { slug: 'cprw', name: 'Certified Professional Résumé Writer (CPRW)', issuer: 'PARW/CC', categories: ['Resume & Career'] },
  { slug: 'ata-certified-translator', name: 'ATA Certified Translator', issuer: 'American Translators Association', categories: ['European Languages', 'Specialised Translation'] },
  { slug: 'diptrans', name: 'Diploma in Translation (DipTrans)', issuer: 'Chartered Institute of Linguists', categories: ['European Languages', 'Asian Languages', 'Specialised Translation', 'Localization'] },
  { slug: 'google-ads', name: 'Google Ads Certification', issuer: 'Google', categories: ['Digital Marketing', 'E-commerce Marketing'] },
  { slug: 'google-analytics', name: 'Google Analytics Certification', issuer: 'Google', categories: ['Marketing Analytics', 'Digital Marketing'] },
  { slug: 'salesforce-administrator', name: 'Salesforce Certified Administrator', issuer: 'Salesforce', categories: ['Sales & Lead Generation'] },
  { slug: 'cpa', name: 'Certified Public Accountant (CPA)', issuer: 'AICPA', categories: ['Tax & Compliance', 'Financial Analysis', 'Bookkeeping'] },
  { slug: 'cfa', name: 'CFA Charterholder', issuer: 'CFA Institute', categories: ['Financial Analysis'] },
  { slug: 'quickbooks-proadvisor', name: 'QuickBooks Online ProAdvisor', issuer: 'Intuit', categories: ['Bookkeeping'] },
  { slug: 'enrolled-agent', name: 'Enrolled Agent (EA)', issuer: 'Internal Revenue Service', categories: ['Tax & Compliance'] },
  { slug: 'certified-blockchain-developer', name: 'Certified Blockchain Developer', issuer: 'Blockchain Council', categories: ['Crypto & Fintech'] },
  { slug: 'pmp', name: 'Project Management Professional (PMP)', issuer: 'Project Management Institute', categories: ['Project Management'] },
  { slug: 'certified-scrummaster', name: 'Certified ScrumMaster (CSM)', issuer: 'Scrum Alliance', categories: ['Project Management', 'QA & Testing'] },
  { slug: 'zendesk-support-admin', name: 'Zendesk Support Administrator', issuer: 'Zendesk', categories: ['Customer Support'] },
  { slug: 'cswp', name: 'Certified SOLIDWORKS Professional (CSWP)', issuer: 'Dassault Systèmes', categories: ['CAD & Drafting'] },
  { slug: 'autodesk-revit-professional', name: 'Autodesk Certified Professional: Revit for Architectural Design', issuer: 'Autodesk', categories: ['Architecture & Interior', 'CAD & Drafting'] },
];

/** Suffix of the SEO tag made from a skill, by price family ("react-developer"; "logo-design"). */
const TAG_SUFFIX: Partial<Record<TaxonomyParent['family'], string>> = { programming: '-developer', web: '-developer' };
/** How many skills of each child category (in taxonomy order) get an SEO tag of their own. */
const TAGGED_SKILLS_PER_CHILD = 3;

export interface SeoTagSpec { slug: string; /** Skill slugs whose tag this is (empty for category tags). */ skills: string[] }

/**
 * The SEO tag catalogue: one tag per parent and child category, and one per leading skill of each
 * child (programming and web skills as "<skill>-developer"). Returns, per child category name, its
 * tag pool (category tags first), and the tag of each tagged skill slug.
 */
export function seoTags(): { tags: string[]; byChild: Map<string, string[]>; bySkill: Map<string, string> } {
  const tags: string[] = [];
  const seen = new Set<string>();
  const add = (slug: string) => { if (!seen.has(slug)) { seen.add(slug); tags.push(slug); } return slug; };
  const byChild = new Map<string, string[]>();
  const bySkill = new Map<string, string>();
  for (const parent of TAXONOMY) {
    const parentTag = add(parent.slug);
    for (const [name, skills] of Object.entries(parent.children)) {
      const pool = [add(slugify(name)), parentTag];
      for (const s of skills.slice(0, TAGGED_SKILLS_PER_CHILD)) {
        const skillSlug = slugify(s);
        const tag = bySkill.get(skillSlug) ?? add(`${skillSlug}${TAG_SUFFIX[parent.family] ?? ''}`);
        bySkill.set(skillSlug, tag);
        if (!pool.includes(tag)) pool.push(tag);
      }
      byChild.set(name, pool);
    }
  }
  return { tags, byChild, bySkill };
}
